"""The README screenshot of issue #25: a Modbus TCP device (pymodbus's own server) polled
live, judged by alarm rules, with the Alarm log dock showing the alarms it raised.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/screenshots_plant.py
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LINEWATCH_HOME", tempfile.mkdtemp(prefix="lw-shots-"))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.alarms.rules import HEADER as RULES_HEADER  # noqa: E402
from desktop.app import model_names, source_from_options, versions  # noqa: E402
from desktop.core.settings import Settings  # noqa: E402
from desktop.sources.modbus_map import HEADER as MAP_HEADER  # noqa: E402
from desktop.sources.serial_port import available_ports  # noqa: E402
from desktop.ui.main_window import MainWindow, WindowServices  # noqa: E402
from tests.support.modbus_server import ModbusTestServer, free_port  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="lw-plant-"))
    (folder / "pump.csv").write_text(
        ",".join(MAP_HEADER) + "\n"
        "bearing_temp,holding,0,int16,0.1,,degC,0.1,\n"
        "motor_current,holding,1,uint16,0.01,,A,0.1,\n"
        "pressure,input,0,int16,0.01,,bar,0.2,\n", encoding="utf-8")
    (folder / "rules.csv").write_text(
        ",".join(RULES_HEADER) + "\n"
        "bearing hot,bearing_temp,high,80,1,3,alarm,yes\n"
        "pressure low,pressure,low,2.0,0.5,0.2,warning,\n", encoding="utf-8")
    port = free_port()
    server = ModbusTestServer(tcp_port=port).start()
    stop = threading.Event()

    def plant() -> None:  # a bearing warming up past its limit, a pressure dip
        t0 = time.monotonic()
        while not stop.is_set():
            t = time.monotonic() - t0
            temp = 60 + 3.0 * t + 2 * math.sin(t * 3)
            if t > 9:
                temp = 70 + 2 * math.sin(t * 3)
            pressure = 3.0 - (1.5 if 4 < t < 7 else 0) + 0.1 * math.sin(t * 5)
            server.set("holding", 0, [int(temp * 10) & 0xFFFF,
                                      int((12 + math.sin(t)) * 100)])
            server.set("input", 0, [int(pressure * 100)])
            time.sleep(0.05)

    feeder = threading.Thread(target=plant, daemon=True)
    feeder.start()
    app = QApplication(sys.argv[:1])
    settings = Settings()
    settings.model = ""
    window = MainWindow(settings, WindowServices(source_from_options, available_ports,
                                                 versions, model_names))
    window.resize(1280, 860)
    window.show()
    window.connect_source(f"modbus-tcp:127.0.0.1:{port}",
                          {"map": str(folder / "pump.csv"), "unit": 1})
    window.alarm_rules.set_rules(str(folder / "rules.csv"))
    window.alarms_dock.show()
    window.labels_dock.hide()  # the alarm log gets the bottom row
    window.resizeDocks([window.alarms_dock], [230], Qt.Orientation.Vertical)
    window.span.setValue(15)
    pump(app, 14.0)
    window.alarms_panel.refresh()
    path = OUT / "modbus-alarms.png"
    window.grab().scaledToWidth(1100).save(str(path), "PNG", 80)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    window.disconnect_source()
    stop.set()
    server.stop()
    window.close()


if __name__ == "__main__":
    main()
