# Seed 001, loop template client: a new connection for every message.
# Change: PORT from argv. Ends with EOFError when piped stdin runs out.
from socket import socket
import sys

while True:
    client = socket()
    client.connect(('127.0.0.1', int(sys.argv[1])))
    send_to_server_msg = input(f'请输入发送的消息 :>>>').strip()
    if not send_to_server_msg:
        print(f'当前不能为空!请重新输入!')
        continue
    client.send(send_to_server_msg.encode('utf-8'))
    from_server_msg = client.recv(1024)
    from_server_msg = from_server_msg.decode('utf-8')
    print(f'来自服务端: >>>{from_server_msg}', flush=True)
    client.close()
