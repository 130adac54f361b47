# A length-prefixed client in the seeds' style (seed 002's sendall, seed 004's
# loop over typed lines). Each line becomes struct.pack('>I', len) + data,
# sent with sendall(); the echo is read with recv() in a loop until the whole
# frame is in, because one recv() may return less. PORT from argv.
import socket
import struct
import sys


def recv_exact(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError('server hung up mid-frame')
        data += chunk
    return data


client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(('127.0.0.1', int(sys.argv[1])))
for line in sys.stdin:
    msg = line.rstrip('\n').encode('utf-8')
    client.sendall(struct.pack('>I', len(msg)) + msg)
    (length,) = struct.unpack('>I', recv_exact(client, 4))
    reply = recv_exact(client, length)
    print(f'收到回应：{reply.decode("utf-8")}', flush=True)
client.close()
