# Seed 001, "phone call model" server (single shot). Change: PORT from argv.
import socket
import sys

server = socket.socket()
IP = '127.0.0.1'
PORT = int(sys.argv[1])
server.bind((IP, PORT))
server.listen(5)
print('listening on %s:%d' % server.getsockname(), flush=True)  # added: tells the test we are ready
conn, addr = server.accept()
from_to_client_msg = conn.recv(1024)
from_to_client_msg = from_to_client_msg.decode('utf-8')
print(f'from_to_client_msg:>>> {from_to_client_msg}')
send_to_client_msg = f'我是服务端'
send_to_client_msg = send_to_client_msg.encode('utf-8')
conn.send(send_to_client_msg)
conn.close()
server.close()
