# 客户端: 看看连接两端的名字 (getsockname / getpeername) 和一个套接字选项 (getsockopt)
# Client: both ends' names of one connection, and one socket option.
# Port from sys.argv[1]; the server (lesson 09) answers "you are A; I am B" and hangs up.
import socket
import sys

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # 设置接收缓冲区
print('SO_RCVBUF:', client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
client.connect(('127.0.0.1', int(sys.argv[1])))
print('getsockname: %s:%d' % client.getsockname())             # 本端地址
print('getpeername: %s:%d' % client.getpeername())             # 对端地址
client.send('hello\n'.encode('utf-8'))
data = b''
while True:                                                     # 读到对方挂断 (recv 返回 b'')
    chunk = client.recv(1024)
    if not chunk:
        break
    data += chunk
print('from_server_msg:', data.decode('utf-8').strip())
client.close()
