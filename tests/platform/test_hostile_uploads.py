"""Hostile uploads against a running uvicorn, as an attacker with an assistant's account would send them:
each is answered quickly (a 422 naming the limit it breaks), the server's memory stays bounded, and
``/healthz`` keeps answering within 100 ms meanwhile (the parse runs off the event loop). The figures are
printed (run with ``-s``): time to the answer, the server's peak memory growth, the slowest ``/healthz``.

A parse on the event loop delays ``/healthz`` on every try; a busy machine delays it now and then. So each
upload is measured up to three times and the calmest try is judged: one stall of the machine (0.67 s once on
CI, for an upload answered in 19 ms) no longer fails the test, a blocked loop still does."""

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx
import psutil
import pytest

from tests import hostile
from tests.live import running_api
from yijing.access import Role

# Committed for real: the uploads go to a live server, which sees only committed rows. Alone: the /healthz
# budget measures the server's event loop, which another test worker loading the machine would slow.
pytestmark = [pytest.mark.committed, pytest.mark.alone]

SHEETS = {
    # The attack's own file: A1:XFD3000 declared, the header and one cell in row 3000 (17.5 s with /healthz
    # blocked, before). Its shape is fine once the dimension is ignored: accepted at once for the one row it
    # holds (the job then reports what the row lacks).
    "dimension-bomb": (lambda: hostile.dimension_bomb(3000), None),
    "dimension-bomb-to-the-last-row": (lambda: hostile.dimension_bomb(1_048_576), "too_many_rows"),
    "zip-bomb": (lambda: hostile.zip_bomb(256), "unzipped_too_large"),
    "row-flood": (hostile.row_flood, "compression_ratio"),
    "numbered-row-flood": (lambda: hostile.row_flood(60_000, numbered=True), "too_many_rows"),
    "shared-strings-flood": (lambda: hostile.shared_strings_flood(600_000, varied=True), "too_many_strings"),
    "huge-shared-string": (hostile.huge_shared_string, "unzipped_too_large"),
    "cell-flood": (lambda: hostile.cell_flood(510_000), "too_many_cells"),
    "entity-expansion": (hostile.entity_expansion, "xlsx_unsafe"),
    "csv-row-flood": (hostile.csv_row_flood, "too_many_rows"),
    "csv-long-line": (hostile.csv_long_line, "line_too_long"),
}
PHOTOS = {
    "png-claiming-400-megapixels": lambda: hostile.png_claiming(20_000, 20_000),
    # The attack's size: 49 Mpx, a 208 KB file (grew the API from 168 MB to 954 MB, before).
    "png-of-49-megapixels": lambda: hostile.blank_png(7_000, 7_000),
}
HEALTHZ_BUDGET_SECONDS = 0.1
TRIES = 3


@pytest.fixture(scope="module")
def live(settings, tmp_path_factory):
    with running_api(settings, tmp_path_factory.mktemp("hostile")) as (base, process):
        yield base, psutil.Process(process.pid)


@dataclass
class Measured:
    response: httpx.Response
    seconds: float
    peak_growth_mib: float
    slowest_healthz: float
    healthz_calls: int


async def measure(live, send) -> Measured:
    """Send one request (``send(client)``) while other threads poll /healthz and sample the server's memory
    (threads of their own, so that the test's own event loop cannot delay them)."""
    base, process = live
    baseline = process.memory_info().rss
    peak = baseline
    healthz: list[float] = []
    done = threading.Event()

    def poll_healthz() -> None:
        with httpx.Client(base_url=base, timeout=5) as prober:
            while not done.is_set():
                started = time.perf_counter()
                response = prober.get("/healthz")
                healthz.append(time.perf_counter() - started)
                assert response.status_code == 200
                time.sleep(0.01)

    def sample_memory() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    watchers = [threading.Thread(target=poll_healthz), threading.Thread(target=sample_memory)]
    for watcher in watchers:
        watcher.start()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        try:
            response = await send(client)
        finally:
            seconds = time.perf_counter() - started
            await asyncio.sleep(0.05)
            done.set()
            for watcher in watchers:
                watcher.join()
    return Measured(response, seconds, (peak - baseline) / (1 << 20), max(healthz), len(healthz))


async def calmest_of_tries(live, send) -> Measured:
    """Measure ``send`` until /healthz stays within its budget, at most ``TRIES`` times; the calmest try."""
    tries: list[Measured] = []
    while len(tries) < TRIES and (not tries or tries[-1].slowest_healthz >= HEALTHZ_BUDGET_SECONDS):
        tries.append(await measure(live, send))
    return min(tries, key=lambda measured: measured.slowest_healthz)


async def warm_up(live, send) -> None:
    """One harmless request down the same path first: what is measured is the hostile file, not a fresh
    process compiling its first queries."""
    async with httpx.AsyncClient(base_url=live[0], timeout=10) as client:
        assert (await send(client, content=b"not a spreadsheet nor a picture")).status_code == 422


def report(case: str, size: int, measured: Measured) -> None:
    print(
        f"\n{case}: {size:,} bytes → {measured.response.status_code} in {measured.seconds * 1000:.0f} ms, "
        f"server +{measured.peak_growth_mib:.0f} MiB at peak, slowest /healthz "
        f"{measured.slowest_healthz * 1000:.1f} ms of {measured.healthz_calls}"
    )


@pytest.mark.parametrize("case", SHEETS)
async def test_a_hostile_spreadsheet_is_answered_fast(live, world, case):
    make, reason = SHEETS[case]
    content = make()

    async def send(client, content=content):
        return await client.post(
            "/api/v1/volunteers/imports",
            files={"file": ("名单.xlsx", content, "application/octet-stream")},
            headers=world.headers(Role.ASSISTANT),
        )

    await warm_up(live, send)
    measured = await calmest_of_tries(live, send)
    report(case, len(content), measured)
    if reason is None:
        assert measured.response.status_code == 202, measured.response.text
    else:
        assert measured.response.status_code == 422, measured.response.text
        assert measured.response.json()["errors"][0]["code"] == reason
    assert measured.seconds < 5
    assert measured.peak_growth_mib < 200
    assert measured.slowest_healthz < HEALTHZ_BUDGET_SECONDS


@pytest.mark.parametrize("case", PHOTOS)
async def test_a_decompression_bomb_photo_is_a_fast_422(live, world, case):
    content = PHOTOS[case]()

    async def send(client, content=content):
        return await client.post(
            f"/api/v1/hazards/{world.own.hazard.id}/attachments",
            files={"file": ("photo.png", content, "image/png")},
            headers=world.headers(Role.OFFICER),
        )

    await warm_up(live, send)
    measured = await calmest_of_tries(live, send)
    report(case, len(content), measured)
    assert measured.response.status_code == 422, measured.response.text
    assert "像素" in measured.response.json()["detail"]
    assert measured.seconds < 2
    assert measured.peak_growth_mib < 50
    assert measured.slowest_healthz < HEALTHZ_BUDGET_SECONDS


async def test_memory_of_decoded_photos_goes_back_to_the_system(live, world):
    """Large photos within the bound (39 Mpx: 117 MB each once decoded) are accepted, decoded two at a time,
    and their memory is returned once they are stored, rather than kept by the process for good."""
    _, process = live
    photos = [hostile.blank_png(6_000, 6_500 - number) for number in range(4)]  # four different files
    before = process.memory_info().rss

    async def send(client):
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/hazards/{world.own.hazard.id}/attachments",
                    files={"file": (f"photo{number}.png", photo, "image/png")},
                    headers=world.headers(Role.OFFICER),
                )
                for number, photo in enumerate(photos)
            )
        )
        return responses[0]

    measured = await measure(live, send)
    await asyncio.sleep(0.2)
    kept_mib = (process.memory_info().rss - before) / (1 << 20)
    report("four-photos-of-39-megapixels", sum(map(len, photos)), measured)
    print(f"kept after the uploads: {kept_mib:+.0f} MiB")
    assert measured.response.status_code == 201, measured.response.text
    assert measured.peak_growth_mib < 2 * 117 + 150  # two decodes at a time, never four
    assert kept_mib < 60
