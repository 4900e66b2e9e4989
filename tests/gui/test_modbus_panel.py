"""The source panel's Modbus page: filled in by hand, Connect polls pymodbus's own server and
the samples reach the window's buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop.session.live import LiveSession
from desktop.sources.modbus_map import HEADER
from desktop.ui.source_panel import SourcePanel
from tests.support.modbus_server import ModbusTestServer, free_port

pytestmark = pytest.mark.slow


def test_spec_and_options_round_trip(qtbot) -> None:
    panel = SourcePanel()
    qtbot.addWidget(panel)
    options = {"map": "/maps/pump.csv", "unit": 7, "baud": "9600", "parity": "even",
               "stopbits": "2"}
    panel.show_spec("modbus-rtu:/dev/ttyUSB0", options)
    assert panel.kind.currentData() == "modbus"
    assert panel.spec_and_options() == ("modbus-rtu:/dev/ttyUSB0", options)


def test_connect_from_the_modbus_page(qtbot, make_window, tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "map.csv"
    path.write_text(",".join(HEADER) + "\nlevel,holding,3,uint16,0.5,,mm,0.05,\n",
                    encoding="utf-8")
    with ModbusTestServer(tcp_port=port) as server:
        server.set("holding", 3, [84])
        window = make_window()
        window.settings.model = ""
        panel = window.source_panel
        panel.kind.setCurrentIndex(panel.kind.findData("modbus"))
        panel.modbus_transport.setCurrentIndex(panel.modbus_transport.findData("modbus-tcp"))
        panel.modbus_target.setText(f"127.0.0.1:{port}")
        panel.modbus_map.setText(str(path))
        panel.connect_button.click()
        session = window.session
        assert isinstance(session, LiveSession)

        def polled() -> None:
            buffer = session.buffer
            assert buffer is not None and buffer.written >= 5

        qtbot.waitUntil(polled, timeout=10_000)
        snap = session.buffer.latest(5)
        assert [c.name for c in snap.channels] == ["level"]
        assert np.allclose(snap.values[:, 0], 42.0)
        window.disconnect_source()
