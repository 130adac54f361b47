# Seed 004's client over AF_UNIX: send each typed line; `exit` quits.
# Change: the socket file's path from argv.
import socket
import sys

client_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client_socket.connect(sys.argv[1])
while True:
    message = input("请输入消息（输入 'exit' 退出）: ")
    client_socket.sendall(message.encode('utf-8'))
    if message == 'exit':
        break
    data = client_socket.recv(1024)
    response = data.decode('utf-8')
    print(f"收到回应：{response}", flush=True)
client_socket.close()
