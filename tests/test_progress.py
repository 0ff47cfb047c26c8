"""Progress on standard error: a bar on a terminal, a few lines elsewhere."""

import io

import pytest

from metatrain_flashmd._progress import Progress, format_duration


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(total: int, stream: io.StringIO, **kwargs) -> None:
    with Progress(total, "stride", stream=stream, **kwargs) as progress:
        for step in range(total):
            progress.update(1, T=f"{300 + step}K")


def progress_lines(total: int, unit: str, *calls) -> list:
    """The lines a :class:`Progress` of ``total`` writes off a terminal for
    ``calls``, pairs of a method name (``update`` or ``skip``) and a count."""
    stream = io.StringIO()
    with Progress(total, unit, stream=stream) as progress:
        for method, count in calls:
            getattr(progress, method)(count)
    return stream.getvalue().splitlines()


def test_not_a_terminal_gets_a_line_per_quarter():
    stream = io.StringIO()
    run(500, stream)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split(":")[0] for line in lines] == [
        "strides 125/500 (25%)",
        "strides 250/500 (50%)",
        "strides 375/500 (75%)",
        "strides 500/500 (100%)",
    ]
    assert all("strides/s" in line for line in lines)
    assert lines[0].endswith("left; T=424K")
    assert "done in" in lines[-1] and lines[-1].endswith("T=799K")


@pytest.mark.parametrize("total, expected", [(1, 1), (2, 2), (3, 3), (7, 4)])
def test_short_runs_get_at_most_four_lines(total, expected):
    stream = io.StringIO()
    run(total, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == expected
    assert lines[-1].startswith(f"strides {total}/{total} (100%)")


def test_jumps_over_several_quarters_give_one_line():
    lines = progress_lines(100, "frame", ("update", 60), ("update", 40))
    assert [line.split(":")[0] for line in lines] == [
        "frames 60/100 (60%)",
        "frames 100/100 (100%)",
    ]


def test_counts_past_the_total_add_no_line():
    stream = io.StringIO()
    with Progress(2, "frame", stream=stream) as progress:
        for _ in range(5):
            progress.update(1)
    assert len(stream.getvalue().splitlines()) == 2


def test_fast_rates_are_whole_numbers():
    stream = io.StringIO()
    run(2000, stream)
    assert ".0e+" not in stream.getvalue() and "e+0" not in stream.getvalue()


def test_an_interrupted_loop_writes_no_final_line():
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with Progress(8, "stride", stream=stream) as progress:
            for _ in range(3):
                progress.update(1)
            raise KeyboardInterrupt
    assert len(stream.getvalue().splitlines()) == 1  # the 25% line only


def test_disabled_or_empty_shows_nothing():
    stream = io.StringIO()
    run(10, stream, enabled=False)
    run(0, stream)
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_live_bar():
    stream = Terminal()
    run(40, stream)
    text = stream.getvalue()
    assert "\r" in text and "40/40" in text and "T=339K" in text


def test_durations_read_well():
    assert format_duration(42.4) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(7380) == "2 h 03 min"
    assert format_duration(float("nan")) == "?"


def test_units_done_before_are_counted_but_not_in_the_rate():
    lines = progress_lines(4, "restart", ("skip", 3), ("update", 1))
    assert lines[0].startswith("restarts 3/4 (75%): 3 done before, ? left")
    assert "restarts/s" not in lines[0]  # nothing was run yet: no rate
    assert lines[-1].startswith("restarts 4/4 (100%): 3 done before, ")
    assert "restarts/s, done in" in lines[-1]


def test_a_loop_found_done_before_shows_no_rate():
    (line,) = progress_lines(2, "restart", ("skip", 2))
    assert line.startswith("restarts 2/2 (100%): 2 done before, done in")
    assert "/s" not in line
