import subprocess
import sys


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "cnnkit", *args], capture_output=True, text=True, timeout=timeout)


def test_info_prints_the_device_summary():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cnnkit " in result.stdout and "backend" in result.stdout and "CPU cores" in result.stdout


def test_unknown_command_fails_with_usage():
    result = run_cli("fly")
    assert result.returncode != 0
    assert "invalid choice: 'fly'" in result.stderr
