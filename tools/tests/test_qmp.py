"""Unit tests of tools/ktest/qmp.py against a fake QMP server on a Unix socket (no QEMU)."""

import json
import os
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ktest.qmp import Qmp, QmpError  # noqa: E402


class FakeQmpServer:
    """Greets like QEMU, then answers each request with replies(request) -> a list of objects
    to send, in which None closes the connection. Records every request."""

    def __init__(self, path, replies, greeting=None, start_delay=0.0):
        self.path, self.replies, self.requests = path, replies, []
        self.greeting = greeting or {"QMP": {"version": {}, "capabilities": []}}
        self.thread = threading.Thread(target=self._serve, args=(start_delay,), daemon=True)
        self.thread.start()

    def _serve(self, start_delay):
        time.sleep(start_delay)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.path)
        server.listen(1)
        connection, _ = server.accept()
        with server, connection, connection.makefile("rb") as reader:
            connection.sendall(json.dumps(self.greeting).encode() + b"\r\n")
            for line in reader:
                request = json.loads(line)
                self.requests.append(request)
                if request["execute"] == "qmp_capabilities":
                    answers = [{"return": {}}]
                else:
                    answers = self.replies(request)
                for answer in answers:
                    if answer is None:
                        return
                    connection.sendall(json.dumps(answer).encode() + b"\r\n")


class QmpClient(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "qmp.sock")

    def tearDown(self):
        self.directory.cleanup()

    def connect(self, replies, **server_options):
        self.server = FakeQmpServer(self.path, replies, **server_options)
        qmp = Qmp(self.path, time.monotonic() + 5)
        self.addCleanup(qmp.close)
        return qmp

    def test_commands_return_values_and_keep_events(self):
        def replies(request):
            if request["execute"] == "query-status":
                return [{"event": "RESET", "data": {"guest": True}},
                        {"return": {"running": True, "status": "running"}}]
            return [{"return": {}}]
        qmp = self.connect(replies)
        self.assertEqual(qmp.execute("query-status"), {"running": True, "status": "running"})
        self.assertEqual(qmp.events, [{"event": "RESET", "data": {"guest": True}}])
        qmp.execute("send-key", keys=[{"type": "qcode", "data": "a"}], **{"hold-time": 10})
        self.assertEqual(self.server.requests[0], {"execute": "qmp_capabilities"})
        self.assertEqual(self.server.requests[2], {"execute": "send-key", "arguments": {
            "keys": [{"type": "qcode", "data": "a"}], "hold-time": 10}})

    def test_human_monitor_command(self):
        qmp = self.connect(lambda request: [{"return": "ok\r\n"}])
        self.assertEqual(qmp.human_command("nmi"), "ok\r\n")
        self.assertEqual(self.server.requests[1]["arguments"], {"command-line": "nmi"})

    def test_errors_carry_qemus_description(self):
        qmp = self.connect(lambda request: [
            {"error": {"class": "GenericError", "desc": "Invalid parameter 'nosuchkey'"}}])
        with self.assertRaisesRegex(QmpError, "send-key: Invalid parameter 'nosuchkey'"):
            qmp.execute("send-key", keys=[])

    def test_a_closed_connection_is_an_error_and_events_are_collected(self):
        qmp = self.connect(lambda request: [
            {"event": "SHUTDOWN", "data": {"reason": "guest-shutdown"}}, None])
        with self.assertRaisesRegex(QmpError, "QEMU closed the QMP connection"):
            qmp.execute("cont")  # the server sends the event, then closes without an answer
        self.assertEqual(qmp.events[0]["event"], "SHUTDOWN")

    def test_waits_for_the_socket_to_appear(self):
        started = time.monotonic()
        qmp = self.connect(lambda request: [{"return": {}}], start_delay=0.2)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual(qmp.execute("stop"), {})

    def test_gives_up_when_qemu_is_gone_or_time_is_out(self):
        with self.assertRaisesRegex(QmpError, "could not connect"):
            Qmp(self.path, time.monotonic() + 5, qemu_running=lambda: False)
        with self.assertRaisesRegex(QmpError, "could not connect"):
            Qmp(self.path, time.monotonic() + 0.05)

    def test_a_wrong_greeting_is_an_error(self):
        FakeQmpServer(self.path, lambda request: [], greeting={"hello": 1})
        with self.assertRaisesRegex(QmpError, "unexpected QMP greeting"):
            Qmp(self.path, time.monotonic() + 5)


if __name__ == "__main__":
    unittest.main()
