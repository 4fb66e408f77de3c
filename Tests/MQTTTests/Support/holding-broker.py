#!/usr/bin/env python3
"""A minimal MQTT 3.1.1 broker for tests that need a broker to withhold acknowledgements.

    holding-broker.py DIRECTORY [cut]

Listens on 127.0.0.1 (a free port, written to DIRECTORY/port), answers CONNECT, SUBSCRIBE,
UNSUBSCRIBE, PINGREQ and QoS 1/2 PUBLISH as a broker does, but keeps back the PUBACK of every
QoS 1 message whose topic contains "held" until the file DIRECTORY/release exists. It routes
nothing. With `cut` it closes every connection right after its CONNACK (a session taken over, a
proxy that accepts and closes). DIRECTORY/counts holds "<QoS 0 messages received> <PUBACKs held
back> <connections accepted>", rewritten when one changes. Runs until killed (the test's ChildProcess is, when the test lets go of it).
"""
import os
import select
import socket
import sys


def remaining_length(buffer, start):
    """(value, bytes used) of the variable-length integer at start, or None if incomplete."""
    value, shift = 0, 0
    for used in range(1, 5):
        if start + used - 1 >= len(buffer):
            return None
        byte = buffer[start + used - 1]
        value |= (byte & 0x7F) << shift
        if byte & 0x80 == 0:
            return value, used
        shift += 7
    raise ValueError("malformed remaining length")


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    directory = sys.argv[1]
    cut = len(sys.argv) > 2 and sys.argv[2] == "cut"
    connections = 0
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    write_atomically(os.path.join(directory, "port"), str(server.getsockname()[1]))
    release = os.path.join(directory, "release")
    buffers = {}
    held = []
    qos0 = 0
    written = None
    while True:
        ready, _, _ = select.select([server] + list(buffers), [], [], 0.05)
        for sock in ready:
            if sock is server:
                client, _ = server.accept()
                buffers[client] = bytearray()
                connections += 1
                continue
            data = sock.recv(1 << 16)
            if not data:
                buffers.pop(sock, None)
                held = [h for h in held if h[0] is not sock]
                sock.close()
                continue
            buffer = buffers[sock]
            buffer += data
            while len(buffer) >= 2:
                length = remaining_length(buffer, 1)
                if length is None or 1 + length[1] + length[0] > len(buffer):
                    break
                kind, flags = buffer[0] >> 4, buffer[0] & 0x0F
                body = bytes(buffer[1 + length[1]:1 + length[1] + length[0]])
                del buffer[:1 + length[1] + length[0]]
                if kind == 1:  # CONNECT
                    sock.sendall(b"\x20\x02\x00\x00")
                    if cut:
                        buffers.pop(sock, None)
                        sock.close()
                        break
                elif kind == 3:  # PUBLISH
                    qos = (flags >> 1) & 3
                    topic_length = int.from_bytes(body[0:2], "big")
                    topic = body[2:2 + topic_length]
                    if qos == 0:
                        qos0 += 1
                        continue
                    packet = body[2 + topic_length:4 + topic_length]
                    if qos == 2:
                        sock.sendall(b"\x50\x02" + packet)
                    elif b"held" in topic:
                        held.append((sock, packet))
                    else:
                        sock.sendall(b"\x40\x02" + packet)
                elif kind == 6:  # PUBREL
                    sock.sendall(b"\x70\x02" + body[0:2])
                elif kind == 8:  # SUBSCRIBE: grant each filter at most QoS 1
                    granted, position = bytearray(), 2
                    while position < len(body):
                        filter_length = int.from_bytes(body[position:position + 2], "big")
                        position += 2 + filter_length
                        granted.append(min(body[position], 1))
                        position += 1
                    sock.sendall(bytes([0x90, 2 + len(granted)]) + body[0:2] + bytes(granted))
                elif kind == 10:  # UNSUBSCRIBE
                    sock.sendall(b"\xb0\x02" + body[0:2])
                elif kind == 12:  # PINGREQ
                    sock.sendall(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    buffers.pop(sock, None)
                    sock.close()
                    break
        if held and os.path.exists(release):
            for sock, packet in held:
                try:
                    sock.sendall(b"\x40\x02" + packet)
                except OSError:
                    pass
            held = []
        counts = f"{qos0} {len(held)} {connections}"
        if counts != written:
            write_atomically(os.path.join(directory, "counts"), counts)
            written = counts


if __name__ == "__main__":
    main()
