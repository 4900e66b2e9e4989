"""``linewatch labels …``: list, export and import labelled events without the window.

For sharing labels between colleagues' PCs, backing them up, and editing them in a
spreadsheet. ``--store`` points at another label store (a colleague's copy, a backup);
without it the commands use the user's own store in the data dir.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.io import export_file, file_format, import_into
from desktop.labels.store import LabelStore, default_store_path

STORE_HINT = "labels.sqlite3 in the user data folder"


def _store_path(args: argparse.Namespace) -> Path:
    return Path(args.store).expanduser() if args.store else default_store_path()


def _open_existing(args: argparse.Namespace) -> LabelStore:
    """The store to read from: a mistyped ``--store`` must not quietly create an empty one
    and report "no labels"."""
    path = _store_path(args)
    if args.store and not path.exists():
        raise LabelError(f"no label store at {path}")
    return LabelStore(path)


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.file).expanduser()
    file_format(out)  # an unknown extension fails before anything is read
    if out.exists() and not args.overwrite:
        # Recordings can be .csv too: never replace a file the user did not mean to.
        raise LabelError(f"{out} already exists; pass --overwrite to replace it")
    with _open_existing(args) as store:
        events = store.list(recording=args.recording, label=args.label)
        count = export_file(events, out)
    print(f"exported {count} label event{'s' if count != 1 else ''} -> {out}", flush=True)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    source = Path(args.file).expanduser()
    file_format(source)  # an unknown extension fails before the store is opened
    with LabelStore(_store_path(args)) as store:
        # Streamed in one transaction: a bad row anywhere rolls all of it back.
        added, skipped = import_into(store, source, skip_existing=not args.duplicates)
        print(f"imported {added} label event{'s' if added != 1 else ''} from "
              f"{source} into {store.path}"
              + (f" ({skipped} already in the store, skipped)" if skipped else ""),
              flush=True)
    return 0


def _format_row(event: LabelEvent) -> str:
    channel = event.channel or "all"
    note = event.note.replace("\n", " ").replace("\r", " ")
    return (f"{event.id:>6}  {event.start_s:>10.3f}  {event.end_s:>10.3f}  {event.label:<16}  "
            f"{channel:<10}  {note}").rstrip()


def cmd_list(args: argparse.Namespace) -> int:
    with _open_existing(args) as store:
        events = store.list(recording=args.recording, label=args.label, text=args.text)
        path = store.path
    if args.json:
        print(json.dumps([event.to_dict() for event in events], ensure_ascii=False),
              flush=True)
        return 0
    if not events:
        print(f"no label events in {path}" + (" match" if args.recording or args.label
                                              or args.text else ""), flush=True)
        return 0
    recording = None
    for event in events:
        if event.recording != recording:
            recording = event.recording
            print(f"{recording}:")
            print(f"{'id':>6}  {'start_s':>10}  {'end_s':>10}  {'label':<16}  "
                  f"{'channel':<10}  note")
        print(_format_row(event))
    print(f"{len(events)} label event{'s' if len(events) != 1 else ''} in {path}",
          file=sys.stderr, flush=True)
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``labels {list,export,import}`` on the top-level command parser."""
    labels = subparsers.add_parser(
        "labels", help="list, export or import labelled events (CSV or JSON)",
        description="Labelled events in the label store: list them, export them to CSV or "
                    "JSON, import a colleague's file.")
    labels.add_argument("--store", metavar="PATH", default=None,
                        help=f"label store file (default: {STORE_HINT})")
    sub = labels.add_subparsers(dest="labels_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="print labelled events, by recording and time")
    listing.add_argument("--recording", metavar="R", help="only this recording")
    listing.add_argument("--label", metavar="L", help="only this label")
    listing.add_argument("--text", metavar="T",
                         help="only events whose label, note or recording contains T")
    listing.add_argument("--json", action="store_true", help="print one JSON list")
    listing.set_defaults(func=cmd_list)

    export = sub.add_parser("export", help="write events to FILE (.csv or .json)")
    export.add_argument("file", metavar="FILE", help="file to write; its extension picks "
                        "the format (.csv: recording,start_s,end_s,label,channel,note)")
    export.add_argument("--recording", metavar="R", help="only this recording")
    export.add_argument("--label", metavar="L", help="only this label")
    export.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="add the events of FILE (.csv or .json), all or none")
    imp.add_argument("file", metavar="FILE", help="a label file exported by Linewatch or "
                     "written by hand with the same columns")
    imp.add_argument("--duplicates", action="store_true",
                     help="add events already in the store again (default: skip them)")
    imp.set_defaults(func=cmd_import)
