# filename: server.py  (seed 002's homework server)
# One change: the port comes from sys.argv[1] (tests pass 0), and it prints
# "listening on ADDR" once it listens.
import socket                   # 导入socket模块
import sys

s = socket.socket()             # 创建套接字
host = socket.gethostname()     # 获取本地主机名
port = int(sys.argv[1]) if len(sys.argv) > 1 else 37777
s.bind((host, port))            # 绑定地址，注意参数为元组

s.listen(5)                     # 开启监听，等待连接
print('listening on %s:%d' % s.getsockname())
while True:
    con, addr = s.accept()
    print("connected from", addr)   # 显示客户端地址
    con.send(b"This is socket!")
    con.close()
