"""A real ``minicnn train`` process (the tiny CNN), signalled after its first epoch."""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def signal_after_first_epoch(out, signum, extra=()):
    """Train tiny_cnn for 200 epochs into ``out``, send ``signum`` once epoch 1 is printed;
    return ``(returncode, stdout, stderr)``."""
    script = ("import sys, tests.train._tiny; from minicnn.cli import main; "
              f"sys.exit(main(['train', '--model', 'tiny_cnn', '--epochs', '200', '--schedule', "
              f"'constant', *{list(extra)!r}, '--out', {str(out)!r}]))")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        lines = []
        deadline = time.time() + 90
        while time.time() < deadline:  # wait for the first finished epoch
            line = process.stdout.readline()
            lines.append(line)
            if not line or re.match(r"epoch +1/200", line):
                break
        assert re.match(r"epoch +1/200", lines[-1]), "".join(lines) + process.stderr.read()
        time.sleep(0.3)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, "".join(lines) + stdout, stderr
