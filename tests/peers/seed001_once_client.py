# Seed 001, "phone call model" client (single shot). Change: PORT from argv.
import socket
import sys

client = socket.socket()
IP = '127.0.0.1'
PORT = int(sys.argv[1])
client.connect((IP, PORT))
send_to_server_msg = f'我是客户端'
send_to_server_msg = send_to_server_msg.encode('utf-8')
client.send(send_to_server_msg)
from_server_msg = client.recv(1024)
from_server_msg = from_server_msg.decode('utf-8')
print(f'from_server_msg: >>>{from_server_msg}')
client.close()
