# The benchmark's Python echo server in the seeds' style: one client at a
# time, a blocking accept() loop, recv/send until the client hangs up.
# Not from a seed (the seeds' servers do not echo); written the way they
# write servers. Port and backlog from argv (the seeds use listen(5); the
# benchmark passes 4096 so a burst of clients is queued, not dropped).
from socket import socket, SOL_SOCKET, SO_REUSEADDR
import sys

server = socket()
server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(int(sys.argv[2]) if len(sys.argv) > 2 else 5)
print('listening on %s:%d' % server.getsockname(), flush=True)
while True:
    conn, addr = server.accept()
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)
    except ConnectionError:  # the benchmark closes with a reset
        pass
    conn.close()
