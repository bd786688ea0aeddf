"""Arguments of ``sb3-ddpg report``, declared without importing Plotly (the report imports it when it runs)."""

import argparse
import pathlib


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Arguments of ``sb3-ddpg report``.

    :param parser: The subcommand's parser
    """
    parser.add_argument("run_dirs", nargs="+", type=pathlib.Path, help="run folders written by 'sb3-ddpg train'")
    parser.add_argument(
        "--out", type=pathlib.Path, help="HTML file (default: RUN_DIR/report.html for one run, else report.html)"
    )
    parser.add_argument("--png", type=pathlib.Path, metavar="DIR", help="also write each figure as a PNG into DIR")
