"""The warm fork server: one long-lived Python per sandbox that imports the ML stack once and forks a fresh
child for each script.

It runs inside the sandbox (bubblewrap, or the run's container) as `python3 -c <this file> <socket> <json>`
and connects to the executor's unix socket. It never runs user code itself: a pre-forked spare child waits
for a job, then starts a new session, takes the job's environment, argv, cwd and rlimits, and runs
/workspace/solution.py as `__main__`. The child's merged stdout+stderr stream back to the executor; when it
ends, every other process in the sandbox is killed, /tmp and /dev/shm are emptied, and the result is sent.
Module state cannot leak between scripts (a fork copies memory on write); the filesystem and stray
processes are cleaned here, and whatever cannot be cleaned makes the server exit so the executor starts a
new one.

Frames in both directions: type (u8), job (u32), payload length (u32), payload.
"""

import gc
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import time

HEADER = struct.Struct(">BII")
# executor -> server
RUN, SIGNAL, QUIT = 1, 2, 3
# server -> executor
READY, STARTED, OUTPUT, EXIT, LOG, POLLUTED = 10, 11, 12, 13, 14, 15

DRAIN_SECONDS = 3.0
# The control socket's directory, bound in by the executor: its presence says we run in the sandbox.
CONTROL_DIR = "/aide-ctl"


class Server:
    def __init__(self, sock_path, options):
        self.options = options
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)
        self.inbuf = b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, "control")
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "sigchld")
        self.spare = None  # (pid, spec_w, out_r, status_r)
        self.job = None  # dict while a script runs
        self.exits = {}  # pid -> wait status of reaped children
        self.home = options.get("home")
        # Directories private to this sandbox that scripts may write (emptied after each script). Only in a
        # sandbox the executor set up: outside one they would be the machine's own /tmp.
        in_sandbox = sock_path.startswith(CONTROL_DIR + "/") and os.path.isdir(CONTROL_DIR)
        self.scratch = list(options.get("scratch", [])) if in_sandbox else []
        # /dev is writable in bubblewrap: what a script adds there is removed; and the sandbox has its own IPC
        # namespace, whose System V objects a script could leave for the next one.
        self.in_sandbox = in_sandbox
        self.dev_baseline = set(os.listdir("/dev")) if in_sandbox else None

    # ---- framing --------------------------------------------------------------------------------------
    def send(self, kind, job, payload):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode()
        self.sock.sendall(HEADER.pack(kind, job, len(payload)) + payload)

    def read_frames(self):
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit(0)  # the executor went away: so do we (and the sandbox with us)
        self.inbuf += data
        frames = []
        while len(self.inbuf) >= HEADER.size:
            kind, job, size = HEADER.unpack_from(self.inbuf)
            if len(self.inbuf) < HEADER.size + size:
                break
            frames.append((kind, job, self.inbuf[HEADER.size:HEADER.size + size]))
            self.inbuf = self.inbuf[HEADER.size + size:]
        return frames

    # ---- children -------------------------------------------------------------------------------------
    def fork_spare(self):
        spec_r, spec_w = os.pipe()
        out_r, out_w = os.pipe()
        status_r, status_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                child_main(spec_r, out_w, status_w)
            finally:
                os._exit(70)
        os.close(spec_r)
        os.close(out_w)
        os.close(status_w)
        self.spare = (pid, spec_w, out_r, status_r)

    def on_sigchld(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exits[pid] = status
            if self.spare and pid == self.spare[0]:
                self.spare = None  # killed from outside; replaced before the next job
            if self.job and pid == self.job["pid"]:
                self.job["reaped"] = status
                if self.job["deadline"] is not None:
                    self.kill_strays()  # its orphans are our children now

    def start_job(self, job_id, payload):
        if self.job is not None:
            self.send(LOG, job_id, b"a job is already running")
            return
        if self.spare is None:
            self.fork_spare()
        pid, spec_w, out_r, status_r = self.spare
        self.spare = None
        os.write(spec_w, payload)
        os.close(spec_w)
        os.set_blocking(out_r, False)
        os.set_blocking(status_r, False)
        self.job = {"id": job_id, "pid": pid, "out": out_r, "status_fd": status_r, "status": b"", "reported": None,
                    "reaped": self.exits.pop(pid, None), "eof": False, "killed": False, "deadline": None}
        self.sel.register(out_r, selectors.EVENT_READ, "out")
        self.sel.register(status_r, selectors.EVENT_READ, "status")
        self.send(STARTED, job_id, {"pid": pid})

    def signal_job(self, payload):
        job = self.job
        if job is None:
            return
        sig = int(json.loads(payload)["signal"])
        if sig == signal.SIGKILL:
            job["killed"] = True
        try:
            os.killpg(job["pid"], sig)
        except OSError:
            pass
        if sig == signal.SIGKILL:
            self.kill_strays()

    def on_output(self):
        job = self.job
        try:
            data = os.read(job["out"], 65536)
        except BlockingIOError:
            return
        if data:
            self.send(OUTPUT, job["id"], data)
            return
        job["eof"] = True
        self.sel.unregister(job["out"])
        os.close(job["out"])

    def on_status(self):
        job = self.job
        try:
            data = os.read(job["status_fd"], 4096)
        except BlockingIOError:
            return
        if data:
            job["status"] += data
        else:
            self.sel.unregister(job["status_fd"])
            os.close(job["status_fd"])
            job["status_fd"] = None
        # One JSON line, written just before the child's _exit: no need to wait for its teardown.
        if job["reported"] is None and job["status"].endswith(b"\n"):
            try:
                job["reported"] = int(json.loads(job["status"])["code"])
            except (ValueError, KeyError, TypeError):
                pass

    def kill_strays(self):
        """SIGKILL what the script left: this server's children but the spare (orphans come to us, a child
        subreaper) and the script's session. Only our own descendants: never anything else on the machine."""
        me = os.getpid()
        spare = self.spare[0] if self.spare else None
        session = self.job["pid"] if self.job else None
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in (me, spare):
                continue
            try:
                with open("/proc/%d/stat" % pid, "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2:].split()
            ppid, sid = int(fields[1]), int(fields[3])
            if ppid == me or (session is not None and sid == session):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def maybe_finish(self):
        job = self.job
        ended = job["reported"] is not None or job["reaped"] is not None
        if not ended:
            return
        if job["deadline"] is None:
            # Whatever the script left running dies with it; that also closes the pipe they hold.
            self.kill_strays()
            job["deadline"] = time.monotonic() + DRAIN_SECONDS
        if not job["eof"] and time.monotonic() < job["deadline"]:
            return
        if job["status_fd"] is not None:
            # The status pipe closes with the child; read what it wrote (the child is gone or being killed).
            try:
                self.on_status()
            except OSError:
                pass
            if job["status_fd"] is not None:
                self.sel.unregister(job["status_fd"])
                os.close(job["status_fd"])
        if not job["eof"]:
            self.sel.unregister(job["out"])
            os.close(job["out"])
        code, sig = None, None
        if job["reported"] is not None:
            code = job["reported"]
        elif os.WIFSIGNALED(job["reaped"]):
            sig = os.WTERMSIG(job["reaped"])
        else:
            code = os.WEXITSTATUS(job["reaped"])
        self.job = None
        self.send(EXIT, job["id"], {"code": code, "signal": sig, "killedByServer": job["killed"]})
        self.clean_scratch()
        # The next script's child is forked now, while the executor handles this result.
        self.fork_spare()

    def clean_scratch(self):
        left = []
        for top in self.scratch:
            if not os.path.isdir(top):
                continue
            left.extend(_remove_all(top, os.listdir(top)))
        if self.dev_baseline is not None:
            left.extend(_remove_all("/dev", set(os.listdir("/dev")) - self.dev_baseline))
        if self.in_sandbox:
            left.extend(_remove_sysv_ipc())
        if self.home:
            try:
                os.makedirs(self.home, exist_ok=True)
            except OSError as e:
                left.append("%s (%s)" % (self.home, e))
        if left:
            self.send(POLLUTED, 0, {"detail": "could not remove " + ", ".join(left[:5])})
            raise SystemExit(3)

    def timeout(self):
        if self.job is not None and self.job["deadline"] is not None:
            return max(0.0, self.job["deadline"] - time.monotonic())
        return None

    def serve(self):
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.fork_spare()
        self.send(READY, 0, {"pid": os.getpid(), "python": sys.version.split()[0]})
        while True:
            for key, _ in self.sel.select(self.timeout()):
                what = key.data
                if what == "control":
                    for kind, job_id, payload in self.read_frames():
                        if kind == RUN:
                            self.start_job(job_id, payload)
                        elif kind == SIGNAL and self.job is not None and self.job["id"] == job_id:
                            self.signal_job(payload)
                        elif kind == QUIT:
                            raise SystemExit(0)
                elif what == "sigchld":
                    self.on_sigchld()
                elif what == "out" and self.job is not None:
                    self.on_output()
                elif what == "status" and self.job is not None:
                    self.on_status()
            if self.job is not None:
                self.maybe_finish()


def _remove_sysv_ipc():
    """Removes every System V shared memory segment, semaphore set and message queue of this IPC namespace."""
    left = []
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
    except Exception:
        return left
    removers = {
        "shm": lambda i: libc.shmctl(i, 0, None),  # IPC_RMID
        "sem": lambda i: libc.semctl(i, 0, 0),
        "msg": lambda i: libc.msgctl(i, 0, None),
    }
    for kind, remove in removers.items():
        try:
            with open("/proc/sysvipc/" + kind) as f:
                ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        for ipc_id in ids:
            if remove(ipc_id) != 0:
                left.append("System V %s %d" % (kind, ipc_id))
    return left


def _remove_all(top, names):
    """Removes top/name for each name (a tree, a file or a link); returns the paths still there."""
    left = []
    for name in names:
        path = os.path.join(top, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=_force_remove)
            else:
                os.unlink(path)
        except OSError:
            pass
        if os.path.lexists(path):
            left.append(path)
    return left


def _force_remove(func, path, _exc):
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
    except OSError:
        pass
    try:
        func(path)
    except OSError:
        pass


def child_main(spec_r, out_w, status_w):
    """The spare child: waits for its job, becomes the script, and never returns."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    keep = {spec_r, out_w, status_w}
    for fd in range(3, 1024):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    spec = b""
    while True:
        chunk = os.read(spec_r, 65536)
        if not chunk:
            break
        spec += chunk
    os.close(spec_r)
    if not spec:
        os._exit(0)
    job = json.loads(spec)
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    os.close(devnull)
    os.close(out_w)
    os.set_inheritable(status_w, False)
    _set_dumpable(1)
    run_script(job, status_w)


def run_script(job, status_w):
    import resource
    import runpy
    import threading
    import traceback

    for name, value in job.get("rlimits", {}).items():
        limit = getattr(resource, "RLIMIT_" + name)
        resource.setrlimit(limit, (value, value))
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # under memory pressure the script dies, not the server
    except OSError:
        pass
    os.environ.clear()
    os.environ.update(job["env"])
    os.chdir(job["cwd"])
    script = job["script"]
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed()  # a fork copies the global generator's state: every script would draw the same numbers
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = _exit_code(e.code)
    except KeyboardInterrupt:
        _print_exception(script, traceback)
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        _print_exception(script, traceback)
        code = 1
    try:
        # As the interpreter ends: threading's exit hooks first (they stop concurrent.futures' workers, which
        # joblib and scikit-learn's n_jobs leave running), then the wait for non-daemon threads, then atexit.
        threading._shutdown()
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    _flush()
    for fd in (1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.write(status_w, json.dumps({"code": code}).encode() + b"\n")
    except OSError:
        pass
    os._exit(code)


def _exit_code(value):
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _print_exception(script, traceback):
    etype, value, tb = sys.exc_info()
    # Skip the server's and runpy's frames, as if the script had been run by `python3 script`.
    first = tb
    while first is not None and first.tb_frame.f_code.co_filename != script:
        first = first.tb_next
    traceback.print_exception(etype, value, first or tb)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _set_dumpable(value):
    """Non-dumpable: scripts (same uid) cannot ptrace the server or read its memory through /proc."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, value, 0, 0, 0)  # PR_SET_DUMPABLE
    except Exception:
        pass


def _set_subreaper():
    """Orphans of the scripts become our children, so kill_strays finds them."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def main():
    _set_dumpable(0)
    _set_subreaper()
    sock_path = sys.argv[1]
    options = json.loads(sys.argv[2])
    started = time.monotonic()
    missing = []
    for name in options.get("preload", []):
        try:
            __import__(name)
        except ImportError as e:
            if name in options.get("required", []):
                print("aide warm server: cannot import %s: %s" % (name, e), file=sys.stderr)
                sys.exit(2)
            missing.append(name)
    gc.collect()
    gc.freeze()  # objects from the imports stay out of the children's collections: fewer copied pages
    server = Server(sock_path, options)
    server.send(LOG, 0, json.dumps({"importMs": round((time.monotonic() - started) * 1000), "missing": missing}).encode())
    try:
        server.serve()
    except (BrokenPipeError, ConnectionResetError):
        pass


if __name__ == "__main__":
    main()
