# Seed 004's server, with the AF_UNIX family seeds 001 and 003 name
# (基于文件类型的套接字家族): one client, acknowledge every message until it
# hangs up. Changes: the socket file's path from argv; a ready line.
import os
import socket
import sys

path = sys.argv[1]
server_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server_socket.bind(path)
server_socket.listen(1)
print(f'listening on {path}', flush=True)  # added for the test
client_socket, client_address = server_socket.accept()
print(f"已连接客户端：{client_address!r}", flush=True)
while True:
    data = client_socket.recv(1024)
    if not data:
        break
    message = data.decode('utf-8')
    print(f"收到消息：{message}", flush=True)
    response = f"你好，我已收到你的消息：{message}"
    client_socket.sendall(response.encode('utf-8'))
client_socket.close()
server_socket.close()
os.unlink(path)  # close() does not remove the socket file
