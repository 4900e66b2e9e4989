"""The parts panel: a table model's verdicts as a table, newest first, and the running chart.

Quality models: one row per part — class (coloured), calibrated probability, decision
(``accept``, or ``REFER``: under the model's reject threshold, an inspector should look;
grey, apart in the *Referred only* filter and counted above the table), the engineer's
label, the features that pushed the verdict most (all of them, with values, in the
tooltip); filter by class; select parts and *Label as* a class; *Export labelled…* writes the parts
CSV that ``linewatch train --base quality-steel --labels parts.csv --name my-line`` reads.
Below: the p-chart (:mod:`desktop.ui.p_chart`) of the accepted parts only. Process
models: one row per sample — score, alarm, likely fault, contributing variables (strongest
first; all in the tooltip) and whether the contribution plot is clear or diffuse,
filter on alarms; below, the score chart and the contribution plot of the selected sample
(or, with none selected, of the newest alarmed one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.contribution_plot import ContributionPlot
from desktop.ui.p_chart import PChartWidget, class_colour

MAX_ROWS = 20_000
QUALITY_COLUMNS = ["#", "id", "class", "prob", "decision", "label", "top features"]
PROCESS_COLUMNS = ["#", "time", "score", "alarm", "fault", "contributors", "clarity"]
ALL = "All"
ALARMS = "Alarms only"
REFERRED = "Referred only"
ACCEPTED = "Accepted only"
REFER_COLOUR = (120, 120, 120, 110)


class PartsModel(QAbstractTableModel):
    """Rows in arrival order, shown newest first."""

    def __init__(self) -> None:
        super().__init__()
        self.kind = ""
        self.classes: list[str] = []
        self.items: list[dict[str, Any]] = []
        self.columns = QUALITY_COLUMNS
        self.seen = 0
        self.referred = 0

    def configure(self, kind: str, classes: list[str]) -> None:
        self.beginResetModel()
        self.kind, self.classes = kind, list(classes)
        self.columns = QUALITY_COLUMNS if kind == "quality" else PROCESS_COLUMNS
        self.items = []
        self.seen = 0
        self.referred = 0
        self.endResetModel()

    def add(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        for row in rows:
            self.seen += 1
            row.setdefault("number", self.seen)
            if row.get("decision") == "refer":
                self.referred += 1
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)  # newest on top
        self.items.extend(rows)
        self.endInsertRows()
        extra = len(self.items) - MAX_ROWS
        if extra > 0:  # the oldest are at the bottom
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, MAX_ROWS + extra - 1)
            del self.items[:extra]
            self.endRemoveRows()

    def item(self, view_row: int) -> dict[str, Any]:
        return self.items[len(self.items) - 1 - view_row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.item(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(row, self.kind)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(row)
        return None

    def _text(self, row: dict[str, Any], col: int) -> str:
        if self.kind == "quality":
            feats = ", ".join(f["feature"] for f in row.get("top_features", []))
            values = [row["number"], row.get("id", ""), row["class"],
                      f"{row['probability']:.2f}",
                      "REFER" if row.get("decision") == "refer" else "accept",
                      row.get("label") or "", feats]
        else:
            score = row.get("score")
            values = [row["number"], f"{row.get('time', 0.0):.2f}",
                      "—" if score is None else f"{score:.2f}",
                      "ALARM" if row.get("alarm") else "", row.get("fault") or "",
                      ", ".join(row.get("contributors", [])),
                      _clarity(row)]
        return str(values[col])

    def _background(self, row: dict[str, Any]) -> QColor | None:
        if self.kind == "quality":
            if row.get("decision") == "refer":  # apart: grey, whatever its class
                return QColor(*REFER_COLOUR)
            colour = class_colour(self.classes, row["class"])
            colour.setAlpha(70)
            return colour
        if row.get("alarm"):
            return QColor(198, 40, 40, 90)
        if (row.get("score") or 0) > 1:
            return QColor(239, 108, 0, 60)
        return None


def _clarity(row: dict[str, Any]) -> str:
    """``clear 64%`` / ``diffuse 22%``: the top contributor's share (process alarms)."""
    share = row.get("contributor_share")
    if share is None or not row.get("contributors"):
        return ""
    return f"{'clear' if row.get('contributors_clear') else 'diffuse'} {share:.0%}"


def tooltip(row: dict[str, Any], kind: str) -> str:
    """What the hover says about one part or sample."""
    if kind == "quality":
        head = (f"part {row.get('number')}" + (f" (id {row['id']})" if row.get("id") else "")
                + f": {row['class']} {row['probability']:.0%}")
        if row.get("label"):
            head += f"; labelled {row['label']}"
        decision = []
        if row.get("decision") == "refer":
            below = row.get("refer_below")
            decision = ["REFER to an inspector: the model is not sure enough"
                        + (f" (probability under {below:.0%})" if below is not None else "")
                        + "; not counted in the chart"]
        lines = [head, *decision, "features that pushed this verdict most (drop in its probability "
                       "when the value is replaced by the typical one):"]
        for f in row.get("top_features", []):
            value = "empty" if f["value"] is None else f"{f['value']:g}"
            lines.append(f"  {f['feature']} = {value}  ({f['contribution']:+.2f})")
        return "\n".join(lines)
    score = row.get("score")
    lines = [f"sample {row.get('number')} at {row.get('time', 0.0):.2f} s: "
             + ("not scored (a value is missing)" if score is None else
                f"score {score:.2f} ({'over' if score > 1 else 'under'} the limit)"),
             f"alarm: {'ON' if row.get('alarm') else 'off'}"]
    if row.get("fault"):
        lines.append(f"likely fault: {row['fault']} ({row.get('fault_probability') or 0:.0%})")
    if row.get("contributors"):
        lines.append("contributing variables, strongest first: "
                     + ", ".join(row["contributors"]))
        if row.get("contributor_share") is not None:
            lines.append(("clear: one variable stands out" if row.get("contributors_clear")
                          else "diffuse: no single variable stands out")
                         + f" ({row['contributor_share']:.0%} of the contribution is "
                         f"{row['contributors'][0]}'s)")
    return "\n".join(lines)


class _Filter(QSortFilterProxyModel):
    def __init__(self, source: PartsModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.wanted = ALL

    def set_wanted(self, wanted: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt ≥ 6.9: invalidateFilter is deprecated
            self.beginFilterChange()
            self.wanted = wanted
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover
            self.wanted = wanted
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        if self.wanted == ALL:
            return True
        item = self.sourceModel().item(row)
        if self.wanted == ALARMS:
            return bool(item.get("alarm"))
        if self.wanted == REFERRED:
            return item.get("decision") == "refer"
        if self.wanted == ACCEPTED:
            return item.get("decision", "accept") == "accept"
        return item.get("class") == self.wanted


class PartsPanel(QWidget):
    """Table + chart for a table model; :meth:`configure` on load, :meth:`add_rows` after."""

    #: "Fine-tune…": the window writes the labelled parts and opens the fine-tune dialog.
    finetune_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PartsModel()
        self.proxy = _Filter(self.model)
        self.filter = QComboBox()
        self.filter.setToolTip("Show only the parts referred to an inspector, only the "
                               "accepted ones, or one class (process: only alarmed samples)")
        self.filter.currentTextChanged.connect(self._filter_changed)
        self.count = QLabel("")
        self.export = QPushButton("Export labelled…")
        self.export.setToolTip("Write the parts you labelled (select → right-click → Label "
                               "as) to a CSV for `linewatch train --base MODEL --labels`")
        self.export.clicked.connect(self._export)
        self.finetune = QPushButton("Fine-tune…")
        self.finetune.setToolTip("Refit the quality model on the parts you labelled (held-out "
                                 "comparison, a new version, promote/rollback)")
        self.finetune.clicked.connect(self.finetune_requested.emit)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.chart = PChartWidget()
        self.contributions = ContributionPlot()
        self.contributions.setVisible(False)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._latest_alarm: dict[str, Any] | None = None
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(self.export)
        top.addWidget(self.finetune)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        split.addWidget(self.contributions)
        split.setSizes([300, 200, 150])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.inputs: list[str] = []

    @property
    def kind(self) -> str:
        return self.model.kind

    def configure(self, info: dict[str, Any]) -> None:
        kind, classes = str(info.get("kind", "")), list(info.get("classes", []))
        self.inputs = list(info.get("inputs", []))
        self.model.configure(kind, classes)
        self.chart.configure(kind, classes, int(info.get("window", 50)))
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItems([ALL, REFERRED, ACCEPTED, *classes] if kind == "quality"
                             else [ALL, ALARMS])
        self.filter.blockSignals(False)
        self.proxy.set_wanted(ALL)
        self.export.setVisible(kind == "quality")
        self.finetune.setVisible(kind == "quality")
        self.contributions.setVisible(kind == "process")
        self._latest_alarm = None
        self.contributions.show_row(None)
        self._update_count()

    def clear(self) -> None:
        self.model.configure(self.model.kind, self.model.classes)
        self.chart.clear_data()
        self._latest_alarm = None
        self.contributions.show_row(None)
        self._update_count()

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        self.model.add(rows)
        self.chart.add_rows(rows)
        if self.kind == "process":
            alarmed = [r for r in rows if r.get("alarm")]
            if alarmed:
                self._latest_alarm = alarmed[-1]
                if not self.table.selectionModel().hasSelection():
                    self.contributions.show_row(self._latest_alarm)
        self._update_count()

    def _selection_changed(self, *_: object) -> None:
        """The contribution plot follows the selected sample (none: the newest alarm)."""
        if self.kind != "process":
            return
        index = self.table.selectionModel().currentIndex()
        selected = self.table.selectionModel().hasSelection() and index.isValid()
        row = self.model.item(self.proxy.mapToSource(index).row()) if selected else None
        self.contributions.show_row(row or self._latest_alarm)

    def _update_count(self) -> None:
        what = "parts" if self.kind == "quality" else "samples"
        labelled = sum(1 for r in self.model.items if r.get("label"))
        referred = ""
        if self.kind == "quality":
            n = self.model.referred
            share = f" ({n / self.model.seen:.0%})" if self.model.seen else ""
            referred = f", {n} referred{share}"
        self.count.setText(f"{self.model.seen} {what}{referred}"
                           + (f", {labelled} labelled" if labelled else ""))
        self.count.setToolTip("Referred: parts whose calibrated probability is under the "
                              "model's reject threshold; an inspector decides them, the "
                              "p-chart counts accepted parts only" if self.kind == "quality"
                              else "")

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_wanted(text or ALL)
        if self.kind == "quality":
            self.chart.set_focus(None if text in ("", ALL, REFERRED, ACCEPTED) else text)

    # -- labelling -----------------------------------------------------------------------
    def selected_items(self) -> list[dict[str, Any]]:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.item(r) for r in sorted(rows)]

    def label_selected(self, label: str | None) -> int:
        items = self.selected_items()
        for item in items:
            item["label"] = label
        if items:
            self.model.dataChanged.emit(self.model.index(0, 0),
                                        self.model.index(self.model.rowCount() - 1,
                                                         self.model.columnCount() - 1))
        self._update_count()
        return len(items)

    def _menu(self, pos: Any) -> None:
        if self.kind != "quality" or not self.selected_items():
            return
        menu = QMenu(self)
        sub = menu.addMenu("Label as")
        for cls in self.model.classes:
            action = QAction(cls, sub)
            action.triggered.connect(lambda _=False, c=cls: self.label_selected(c))
            sub.addAction(action)
        clear = menu.addAction("Clear label")
        clear.triggered.connect(lambda: self.label_selected(None))
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def export_labelled(self, path: Path) -> int:
        from desktop.ml.tabular.parts import write_parts_csv

        return write_parts_csv(path, self.model.items, self.inputs)

    def _export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export labelled parts", "parts.csv",
                                              "CSV (*.csv)")
        if name:
            n = self.export_labelled(Path(name))
            self.count.setText(f"{n} labelled parts written to {Path(name).name}")
