"""The progress bar of the long commands (``refloss audit``, ``refloss conform``), on stderr."""


def progress_bar(i: int, n: int, name: str, stream) -> None:
    """``[####......] i/n name`` on ``stream``, redrawn in place on a terminal, a line each otherwise."""
    width = 30
    done = int(width * i / n) if n else width
    end = "\n" if (i == n or not stream.isatty()) else ""
    stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {name:<60}{end}")
    stream.flush()
