# Seed 004 server: one client, acknowledge every message until it hangs up.
# Change: PORT from argv; a ready line.
import socket
import sys

server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_address = ('127.0.0.1', int(sys.argv[1]))
server_socket.bind(server_address)
server_socket.listen(1)
print('listening on %s:%d' % server_socket.getsockname(), flush=True)  # added for the test
client_socket, client_address = server_socket.accept()
print(f"已连接客户端：{client_address}", flush=True)
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
