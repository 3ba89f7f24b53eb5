"""A byte and request counter between a client and a server on loopback: a
TCP proxy that forwards both ways unchanged and keeps writing to COUNT_FILE
the bytes sent each way and the HTTP/1.1 requests seen from the client.
Usage: count_proxy.py LISTEN_PORT TARGET_PORT COUNT_FILE"""
import asyncio
import json
import os
import sys

listen, target, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
counts = {"bytes_up": 0, "bytes_down": 0, "requests": 0}
MARK = b" HTTP/1.1\r\n"


async def pump(reader, writer, up):
    tail = b""
    while data := await reader.read(1 << 16):
        if up:
            counts["bytes_up"] += len(data)
            seen = tail + data
            counts["requests"] += seen.count(MARK) - tail.count(MARK)
            tail = seen[-len(MARK):]
        else:
            counts["bytes_down"] += len(data)
        writer.write(data)
        await writer.drain()
    writer.close()


async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(
        pump(client_reader, server_writer, True),
        pump(server_reader, client_writer, False),
        return_exceptions=True,
    )


async def report():
    while True:
        with open(count_file + ".tmp", "w") as f:
            json.dump(counts, f)
        os.replace(count_file + ".tmp", count_file)
        await asyncio.sleep(0.05)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    asyncio.create_task(report())
    async with server:
        await server.serve_forever()


asyncio.run(main())
