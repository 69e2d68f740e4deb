"""Linphone's command-line client (Debian linphone-cli) registers with a user made
by the admin CLI over UDP, TCP and TLS, learns its address from the 401's Via,
and unregisters on quit. linphonec runs with its own HOME, `soundcard use
files`, a virtual memory bound (ulimit -v) and a time limit; it is killed at the
end of the test whatever happens."""
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from conftest import free_port

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "sip"))
from sipclient import Client  # noqa: E402
from test_sip_registrar import REALM, make_cert, make_users, sip_server  # noqa: E402

LINPHONEC = shutil.which("linphonec") or "linphonec"


def rc_text(user, pw, transport, port, local_port, ca=None):
    ports = {"udp": (local_port, 0, 0), "tcp": (0, local_port, 0), "tls": (0, 0, local_port)}
    up, tp, sp = ports[transport]
    tls = ""
    if ca:
        tls = f"root_ca={ca}\nverify_server_certs=1\nverify_server_cn=0\n"
    return f"""[sip]
sip_port={up}
sip_tcp_port={tp}
sip_tls_port={sp}
use_ipv6=0
default_proxy=0
register_only_when_network_is_up=0
{tls}
[rtp]
audio_rtp_port={free_port()}

[sound]
echocancellation=0
local_ring=
remote_ring=

[video]
enabled=0
capture=0
display=0

[proxy_0]
reg_proxy=<sip:127.0.0.1:{port};transport={transport}>
reg_identity=<sip:{user}@{REALM}>
reg_expires=600
reg_sendregister=1
publish=0
quality_reporting_enabled=0

[auth_info_0]
username={user}
userid={user}
passwd={pw}
realm={REALM}
domain={REALM}
"""


class Phone:
    def __init__(self, home, rc):
        self.home = pathlib.Path(home)
        (self.home / ".local/share/linphone").mkdir(parents=True, exist_ok=True)
        (self.home / "rc").write_text(rc)
        self.out = self.home / "out.log"
        env = dict(os.environ, HOME=str(self.home))
        self.p = subprocess.Popen(
            ["bash", "-c", f'ulimit -v 1500000; exec timeout 120 "{LINPHONEC}" -c rc -d 6 '
                           f'-l lib.log'],
            cwd=self.home, env=env, stdin=subprocess.PIPE, stdout=open(self.out, "wb"),
            stderr=subprocess.STDOUT)

    def cmd(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def text(self):
        return self.out.read_text(errors="replace")

    def wait_for(self, needle, timeout=30, poll=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if poll:
                self.cmd(poll)
            if needle in self.text():
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.5)
        return needle in self.text()

    def stop(self):
        try:
            if self.p.poll() is None:
                self.cmd("quit")
                self.p.wait(timeout=15)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            pass
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_linphonec_registers(t9server, tmp_path, transport):
    tls = make_cert(tmp_path / "tls") if transport == "tls" else None
    srv = sip_server(t9server, tls=tls)
    (u, p), = make_users(srv, 1, prefix="linphone")
    port = srv.tls_port if transport == "tls" else srv.sip_port
    ca = str(tls / "cert.pem") if tls else None
    phone = Phone(tmp_path / "phone", rc_text(u, p, transport, port, free_port(), ca))
    c = Client("udp", srv.sip_port)
    try:
        phone.cmd("soundcard use files")
        assert phone.wait_for("registered, identity=", timeout=40, poll="status register"), \
            phone.text()[-3000:]
        # The registrar holds exactly the phone's binding, and the phone's
        # Contact carries the address it learned from received/rport.
        r, _ = c.register(u, p, REALM)
        assert r.status == 200
        cs = r.all("contact")
        assert len(cs) == 1 and "127.0.0.1" in cs[0], cs
        assert f"transport={transport}" in cs[0].lower() or transport == "udp", cs
        phone.stop()
        # quit unregisters: nothing is left.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, _ = c.register(u, p, REALM)
            if not r.all("contact"):
                break
            time.sleep(0.5)
        assert r.all("contact") == [], r.all("contact")
    finally:
        phone.stop()
        c.close()
