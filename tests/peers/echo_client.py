# Echo client in the seeds' style (seed 004's client: connect, sendall,
# recv, print). Changes: PORT from argv; lines come from stdin as bytes
# (no input() prompt, no EOFError at the end), and it keeps calling recv
# until the whole echo is back, because TCP may return it in pieces.
import socket
import sys

client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_address = ('127.0.0.1', int(sys.argv[1]))
client_socket.connect(server_address)
for message in sys.stdin.buffer:
    client_socket.sendall(message)
    data = b''
    while len(data) < len(message):
        chunk = client_socket.recv(1024)
        if not chunk:
            break
        data += chunk
    response = data.decode('utf-8', 'replace')
    print(f"收到回应：{response}", end='', flush=True)
client_socket.close()
