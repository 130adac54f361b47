# Seed 001, UDP loop template server: answer each datagram with a reply typed
# on stdin (empty input is refused and asked again). Changes: PORT from argv;
# a ready line after bind. Ends with EOFError when piped stdin runs out.
from socket import socket, AF_INET, SOCK_DGRAM
import sys

server = socket(AF_INET, SOCK_DGRAM)

server_address = ('127.0.0.1', int(sys.argv[1]))
server.bind(server_address)
print('listening on %s:%d' % server.getsockname(), flush=True)  # added for the test

while True:

    data, client_address = server.recvfrom(1024)

    decoded_data = data.decode('utf-8')
    print(f'来自客户端的信息:>>> {decoded_data}', flush=True)

    while True:
        response_msg = input(f'请输入发送的消息 :>>>').strip()
        if not response_msg:
            print(f'当前不能为空!请重新输入!', flush=True)
            continue
        server.sendto(response_msg.encode('utf-8'), client_address)
        break

server.close()
