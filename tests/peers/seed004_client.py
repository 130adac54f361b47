# Seed 004 client: send each typed line; `exit` quits. Change: PORT from argv.
import socket
import sys

client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_address = ('127.0.0.1', int(sys.argv[1]))
client_socket.connect(server_address)
while True:
    message = input("请输入消息（输入 'exit' 退出）: ")
    client_socket.sendall(message.encode('utf-8'))
    if message == 'exit':
        break
    data = client_socket.recv(1024)
    response = data.decode('utf-8')
    print(f"收到回应：{response}", flush=True)
client_socket.close()
