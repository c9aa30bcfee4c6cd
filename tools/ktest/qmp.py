"""A minimal client of QEMU's JSON monitor protocol, QMP (QEMU docs/interop/qmp-spec).

One JSON object per line each way: QEMU greets with {"QMP": ...}, the client must send
qmp_capabilities first, then each command gets a {"return": ...} or {"error": ...}; events
({"event": ...}, e.g. SHUTDOWN) can arrive at any time and are kept in `events`.
"""

import json
import socket
import time


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path, deadline, qemu_running=lambda: True):
        self.events = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # QEMU creates the socket while starting up; retry until it is there.
        while True:
            try:
                self._sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= deadline or not qemu_running():
                    self._sock.close()
                    raise QmpError(f"could not connect to QMP socket {path}")
                time.sleep(0.02)
        self.deadline = deadline
        self._reader = self._sock.makefile("rb")
        try:
            greeting = self._receive()
            if "QMP" not in greeting:
                raise QmpError(f"unexpected QMP greeting: {greeting}")
            self.execute("qmp_capabilities")
        except QmpError:
            self.close()
            raise

    def _receive(self):
        self._sock.settimeout(max(0.1, self.deadline - time.monotonic()))
        try:
            line = self._reader.readline()
        except (socket.timeout, OSError) as error:
            raise QmpError(f"QMP read failed: {error}")
        if not line:
            raise QmpError("QEMU closed the QMP connection (did the guest exit?)")
        try:
            return json.loads(line)
        except ValueError:
            raise QmpError(f"QMP sent something that is not JSON: {line[:80]!r}")

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(request).encode() + b"\n")
        except OSError as error:
            raise QmpError(f"QMP write failed: {error}")
        while True:
            reply = self._receive()
            if "event" in reply:  # asynchronous, e.g. SHUTDOWN; keep for the verdict
                self.events.append(reply)
            elif "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def human_command(self, command_line):
        """One command of the human monitor (HMP), e.g. "nmi"; returns what it printed."""
        return self.execute("human-monitor-command", **{"command-line": command_line})

    def collect_events(self, seconds=0.5):
        """Reads what QEMU sent before it exited, e.g. the SHUTDOWN event with its reason."""
        self.deadline = time.monotonic() + seconds
        try:
            while True:
                reply = self._receive()
                if "event" in reply:
                    self.events.append(reply)
        except QmpError:
            pass

    def close(self):
        self._reader.close()
        self._sock.close()
