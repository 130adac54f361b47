# Homework 01 (seed 002): write the client — reference solution in Python.
# The checker passes the address as `--host H --port P` (also in the
# environment as SOCKET_LESSONS_HOST / SOCKET_LESSONS_PORT).
#   cargo run -- check homework01 -- python3 lessons/exercises/solutions/homework01_write_the_client.py
import os
import socket
import sys

args = sys.argv[1:]
host = args[args.index('--host') + 1] if '--host' in args else os.environ.get('SOCKET_LESSONS_HOST', '127.0.0.1')
port = int(args[args.index('--port') + 1] if '--port' in args else os.environ.get('SOCKET_LESSONS_PORT', '37777'))

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((host, port))
chunks = []
while True:
    data = client.recv(1024)   # what has arrived so far: maybe 1 byte
    if not data:               # b'': the server hung up, that was all
        break
    chunks.append(data)
client.close()
print(b''.join(chunks).decode('utf-8', errors='replace'))
