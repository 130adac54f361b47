# Seed 001, UDP loop template client: send each typed line as a datagram,
# wait (forever: no timeout) for one reply of at most 1024 bytes.
# Change: PORT from argv. Ends with EOFError when piped stdin runs out.
from socket import socket, AF_INET, SOCK_DGRAM
import sys

client = socket(AF_INET, SOCK_DGRAM)

server_address = ('127.0.0.1', int(sys.argv[1]))

while True:

    send_to_server_msg = input(f'请输入发送的消息 :>>>').strip()
    if not send_to_server_msg:
        print(f'当前不能为空!请重新输入!', flush=True)
        continue

    client.sendto(send_to_server_msg.encode('utf-8'), server_address)

    data, server_response_address = client.recvfrom(1024)
    decoded_data = data.decode('utf-8')
    print(f'来自服务器的信息:>>> {decoded_data}', flush=True)

client.close()
