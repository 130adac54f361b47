# 客户端: 把套接字当文件用 (fileno / makefile), 写完后半关闭 (shutdown SHUT_WR), 再读完所有回复
# Client: the socket as a file. Sends every stdin line through makefile('wb'),
# flushes, half-closes, shows that send() now fails, then reads every reply
# line through makefile('rb') until the server hangs up. Port from sys.argv[1].
import socket
import sys

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(('127.0.0.1', int(sys.argv[1])))
print('fileno:', client.fileno())                  # 文件描述符

writer = client.makefile('wb')                     # 写文件
for line in sys.stdin.buffer:
    writer.write(line)
writer.flush()                                     # 不 flush 数据就还在缓冲区里
client.shutdown(socket.SHUT_WR)                    # 我发完了, 但还要读
try:
    client.send(b'one more\n')
except BrokenPipeError as e:
    print('send after SHUT_WR:', repr(e))

reader = client.makefile('rb')                     # 读文件, 一行一行
for line in reader:
    print('from_server_msg:', line.decode('utf-8').rstrip('\n'))
print('EOF')
client.close()
