# Seed 001, loop template server: one message and one typed reply per
# connection, then it hangs up. Change: PORT from argv; a ready line.
from socket import socket
import sys

server = socket()
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(5)
print('listening on %s:%d' % server.getsockname(), flush=True)  # added for the test
while True:
    conn, addr = server.accept()
    msg = conn.recv(1024)
    print(f'来自客户端:>>> {msg.decode("utf-8")}', flush=True)
    while True:
        send_to_client_msg = input(f'请输入发送的消息 :>>>').strip()
        if not send_to_client_msg:
            print(f'当前内容为空!请重新输入!')
            continue
        conn.send(send_to_client_msg.encode('utf-8'))
        break
    conn.close()
server.close()
