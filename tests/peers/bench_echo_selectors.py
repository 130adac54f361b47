# The benchmark's Python echo server for many clients: what a Python
# programmer would pick, the `selectors` module (epoll on Linux), with
# non-blocking sockets and a buffer per connection for partial sends.
# Port and backlog from argv; it raises its open-files limit to the hard
# limit, as the Rust servers do, to hold 10,000 connections.
import resource
import selectors
import socket
import sys

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

sel = selectors.DefaultSelector()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(int(sys.argv[2]) if len(sys.argv) > 2 else 128)
server.setblocking(False)
sel.register(server, selectors.EVENT_READ, None)
print('listening on %s:%d' % server.getsockname(), flush=True)

unsent = {}  # conn -> bytes received and not yet echoed


def accept_all():
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        unsent[conn] = b''
        sel.register(conn, selectors.EVENT_READ, None)


def close(conn):
    sel.unregister(conn)
    del unsent[conn]
    conn.close()


def serve(key, mask):
    conn = key.fileobj
    if mask & selectors.EVENT_READ:
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            data = None
        except ConnectionError:
            data = b''
        if data == b'':
            return close(conn)
        if data:
            unsent[conn] += data
    if unsent[conn]:
        try:
            sent = conn.send(unsent[conn])
        except BlockingIOError:
            sent = 0
        except ConnectionError:
            return close(conn)
        unsent[conn] = unsent[conn][sent:]
    # Ask to hear about writability only while there is something to send.
    want = selectors.EVENT_READ | (selectors.EVENT_WRITE if unsent[conn] else 0)
    if want != key.events:
        sel.modify(conn, want, None)


while True:
    for key, mask in sel.select():
        if key.fileobj is server:
            accept_all()
        else:
            serve(key, mask)
