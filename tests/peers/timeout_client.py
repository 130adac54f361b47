# A client in the seeds' style with seed 002's settimeout(): send each typed
# line, wait at most TIMEOUT seconds for the answer. Against a silent server
# Python raises socket.timeout (TimeoutError: timed out) where Rust reports
# WouldBlock (EAGAIN). PORT and TIMEOUT from argv.
import socket
import sys

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.settimeout(float(sys.argv[2]))
print(f'gettimeout: {client.gettimeout()}', flush=True)
client.connect(('127.0.0.1', int(sys.argv[1])))
for line in sys.stdin:
    client.sendall(line.rstrip('\n').encode('utf-8'))
    try:
        data = client.recv(1024)
    except socket.timeout as e:
        print(f'超时: {e!r}', flush=True)
        break
    print(f'收到回应：{data.decode("utf-8")}', flush=True)
client.close()
