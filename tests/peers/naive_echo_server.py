# A deliberately naive server in the seeds' style, used ONLY by the hostile
# suite (tests/hostile.rs) to prove that the suite can fail. It is seed 001's
# loop template with seed 004's echo: no try/except, so the first invalid
# UTF-8 byte (UnicodeDecodeError) or reset (ConnectionResetError) kills it,
# and one silent client holds it forever. Port from argv; 0 = any.
from socket import socket
import sys

server = socket()
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(5)
print('listening on %s:%d' % server.getsockname(), flush=True)
while True:
    conn, addr = server.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        message = data.decode('utf-8')
        conn.sendall(message.encode('utf-8'))
    conn.close()
