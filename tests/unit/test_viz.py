"""The classic viz members (plot_results, plot_quicklooks, map_results, plot_coverage), headless.

A tiny host class stands in for Job/JobTask; rasters are small GeoTIFFs written with
rasterio, quicklooks PNG/JPEG written with Pillow. Figures are saved and measured in pixels.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image

from up42_facade import _viz
from up42_facade._errors import ConfigurationError, Up42Error
from up42_facade._results import feature_collection_to_geodataframe
from up42_facade._viz import VizMixin, plot_coverage

# Two scenes near Berlin; their rasters (EPSG:32633) lie inside the footprints.
UIDS = ("21ac03b7-1b1e-43c8-b385-56fde04610aa", "9f0b3c2e-5d4a-4e1f-8a7b-6c5d4e3f2a1b")
FOOTPRINTS = [
    [[13.35, 52.48], [13.35, 52.52], [13.42, 52.52], [13.42, 52.48], [13.35, 52.48]],
    [[13.40, 52.50], [13.40, 52.54], [13.47, 52.54], [13.47, 52.50], [13.40, 52.50]],
]
# UTM zone 33N origins of the two rasters (about 13.36E/52.51N and 13.41E/52.53N).
ORIGINS = ((388_600.0, 5_819_500.0), (392_000.0, 5_821_700.0))
PIXEL_METRES = 60.0


def data_json() -> dict[str, Any]:
    """A data.json like the API's, one feature per raster."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "uid": uid,
                    "acquisition": {"mission": "Sentinel-2", "sensorId": "MSI"},
                    "up42.data_path": f"{uid}/{uid}_0-0.tif",
                },
            }
            for uid, ring in zip(UIDS, FOOTPRINTS, strict=True)
        ],
    }


class Host(VizMixin):
    """What Job and JobTask give the mixin: results, quicklooks, get_results_json."""

    def __init__(
        self, results: list[str] | None = None, quicklooks: list[str] | None = None
    ) -> None:
        self.results = results
        self.quicklooks = quicklooks
        self.asked: list[bool] = []

    def get_results_json(self, as_dataframe: bool = False) -> Any:
        self.asked.append(as_dataframe)
        if as_dataframe:
            return feature_collection_to_geodataframe(json.dumps(data_json()).encode())
        return data_json()


def write_geotiff(
    path: Path,
    *,
    bands: int = 3,
    size: tuple[int, int] = (64, 48),
    dtype: str = "uint16",
    origin: tuple[float, float] = ORIGINS[0],
    crs: str | None = "EPSG:32633",
) -> str:
    """A small GeoTIFF with a gradient per band and a no-data corner; returns its path."""
    width, height = size
    rows, columns = np.indices((height, width))
    data = np.stack([(rows * (band + 1) * 37 + columns * 53) % 4000 + 1 for band in range(bands)])
    data[:, :4, :4] = 0  # no data
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": dtype,
        "nodata": 0,
        "transform": Affine(PIXEL_METRES, 0, origin[0], 0, -PIXEL_METRES, origin[1]),
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as target:
        target.write(data.astype(dtype))
    return str(path)


def write_quicklook(path: Path, *, mode: str = "RGB", size: tuple[int, int] = (60, 40)) -> str:
    """A small PNG or JPEG (by suffix) with a colour gradient; returns its path."""
    width, height = size
    rows, columns = np.indices((height, width))
    rgb = np.stack([rows * 6 % 256, columns * 4 % 256, (rows + columns) * 3 % 256], axis=-1)
    Image.fromarray(rgb.astype(np.uint8), "RGB").convert(mode).save(path)
    return str(path)


def downloaded(folder: Path) -> list[str]:
    """What download_results() leaves: one GeoTIFF per feature and the data.json."""
    rasters = [
        write_geotiff(folder / uid / f"{uid}_0-0.tif", origin=origin)
        for uid, origin in zip(UIDS, ORIGINS, strict=True)
    ]
    (folder / "data.json").write_text(json.dumps(data_json()), encoding="utf-8")
    return [*rasters, str(folder / "data.json")]


def saved_pixels(figure: Any, path: Path, dpi: int = 100) -> np.ndarray:
    """Save the figure as PNG and read its pixels back (rows, columns, RGBA)."""
    figure.savefig(path, dpi=dpi)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def assert_drawn(pixels: np.ndarray, *, colours: int = 20) -> None:
    """Something was drawn: a tenth of the pixels or more are not background, in ``colours``
    colours or more (a gradient has many; flat footprint fills have few)."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    painted = np.any(flat[:, :3] < 250, axis=1)
    assert painted.mean() > 0.1
    assert len(np.unique(flat, axis=0)) >= colours


@pytest.fixture(autouse=True)
def headless(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Agg, as on a server without a display; no figure may be left open in pyplot."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before
    plt.close("all")


def test_plot_results_draws_the_downloaded_geotiffs_side_by_side(tmp_path: Path) -> None:
    host = Host(results=downloaded(tmp_path / "job"))
    figure = host.plot_results(figsize=(9, 3))
    pixels = saved_pixels(figure, tmp_path / "results.png", dpi=100)
    assert pixels.shape[:2] == (300, 900)
    assert_drawn(pixels)
    drawn = [ax for ax in figure.axes if ax.get_visible() and ax.images]
    assert [ax.get_title() for ax in drawn] == [f"{uid}_0-0" for uid in UIDS]
    # A grid of three per row, classic's layout, with the third cell hidden.
    assert len(figure.axes) == 3
    assert not figure.axes[2].get_visible()


def test_plot_results_stretches_16_bit_data_instead_of_clipping_it_white(tmp_path: Path) -> None:
    host = Host(results=[write_geotiff(tmp_path / "scene.tif", dtype="uint16")])
    figure = host.plot_results()
    image = figure.axes[0].images[0].get_array()
    assert image.shape == (48, 64, 3)
    assert 0.0 <= image.min() < 0.1
    assert 0.9 < image.max() <= 1.0
    # The raster's extent in its own CRS, as rasterio.plot.show placed it.
    left, right, bottom, top = figure.axes[0].images[0].get_extent()
    assert (left, top) == ORIGINS[0]
    assert (right, bottom) == (ORIGINS[0][0] + 64 * PIXEL_METRES, ORIGINS[0][1] - 48 * PIXEL_METRES)


def test_plot_results_of_one_band_is_grey_and_takes_imshow_options(tmp_path: Path) -> None:
    host = Host(results=[write_geotiff(tmp_path / "scene.tif", bands=4)])
    figure = host.plot_results(bands=[4])
    assert figure.axes[0].images[0].get_cmap().name == "gray"
    figure = host.plot_results(bands=[2], cmap="viridis", vmin=0, vmax=100)
    image = figure.axes[0].images[0]
    assert image.get_cmap().name == "viridis"
    assert image.get_clim() == (0, 100)


def test_plot_results_puts_four_images_in_two_rows_of_three(tmp_path: Path) -> None:
    paths = [write_geotiff(tmp_path / f"scene_{index}.tif") for index in range(4)]
    figure = Host().plot_results(filepaths=paths, titles=["a", "b", "c", "d"], figsize=(6, 4))
    pixels = saved_pixels(figure, tmp_path / "grid.png", dpi=50)
    assert pixels.shape[:2] == (200, 300)
    assert [ax.get_title() for ax in figure.axes if ax.get_visible()] == ["a", "b", "c", "d"]
    assert len(figure.axes) == 6


def test_plot_results_without_downloaded_results_says_to_download_them_first() -> None:
    with pytest.raises(ValueError, match=r"download_results\(\) first") as raised:
        Host().plot_results()
    assert isinstance(raised.value, Up42Error)


def test_plot_results_refuses_files_of_other_formats_and_odd_band_counts(tmp_path: Path) -> None:
    quicklook = write_quicklook(tmp_path / "ql.png")
    with pytest.raises(ConfigurationError, match=r"\.tif"):
        Host(results=[quicklook]).plot_results()
    with pytest.raises(ConfigurationError, match="one or three bands"):
        Host(results=[write_geotiff(tmp_path / "scene.tif")]).plot_results(bands=[1, 2])


def test_plot_results_plots_a_plain_png_without_georeference_warnings(tmp_path: Path) -> None:
    quicklook = write_quicklook(tmp_path / "ql.png")
    figure = Host().plot_results(filepaths=[quicklook], plot_file_format=[".png"])
    assert_drawn(saved_pixels(figure, tmp_path / "plain.png"))


def test_plot_quicklooks_draws_png_and_jpeg_quicklooks(tmp_path: Path) -> None:
    quicklooks = [
        write_quicklook(tmp_path / "quicklook_a.png"),
        write_quicklook(tmp_path / "quicklook_b.jpg"),
        write_quicklook(tmp_path / "quicklook_c.png", mode="P"),
        write_quicklook(tmp_path / "quicklook_d.png", mode="L"),
    ]
    figure = Host(quicklooks=quicklooks).plot_quicklooks(figsize=(6, 6))
    pixels = saved_pixels(figure, tmp_path / "quicklooks.png", dpi=50)
    assert pixels.shape[:2] == (300, 300)
    assert_drawn(pixels)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles == ["quicklook_a", "quicklook_b", "quicklook_c", "quicklook_d"]


def test_plot_quicklooks_without_downloaded_quicklooks_says_to_download_them_first() -> None:
    with pytest.raises(ValueError, match=r"download_quicklooks\(\) first"):
        Host().plot_quicklooks()


def test_map_results_holds_the_footprints_their_properties_and_the_images(
    tmp_path: Path,
) -> None:
    host = Host(results=downloaded(tmp_path / "job"))
    fmap = host.map_results()
    html = fmap.get_root().render()
    # The footprints as GeoJSON, with the properties the popups show.
    for uid, ring in zip(UIDS, FOOTPRINTS, strict=True):
        assert uid in html
        assert json.dumps(ring[0])[1:-1].replace(" ", "") in html.replace(" ", "")
    assert '"Footprints"' in html  # the layer, in the layer control
    assert "bindPopup" in html  # a popup of properties on each footprint
    # A nested property, as JSON text the popup can show.
    assert '"acquisition": "{\\"mission\\": \\"Sentinel-2\\"' in html
    # One overlay per raster, named after its feature.
    assert html.count("data:image/png;base64") == 2
    assert f"Image 1 - {UIDS[0]}" in html
    assert f"Image 2 - {UIDS[1]}" in html
    assert host.asked == []  # read from the downloaded data.json


def overlay_pixels(html: str) -> list[np.ndarray]:
    """The image overlays embedded in a map's HTML, as RGBA arrays."""
    images = []
    for encoded in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html):
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
            images.append(np.asarray(image.convert("RGBA")))
    return images


def test_map_results_lays_each_raster_where_it_lies_with_no_data_transparent(
    tmp_path: Path,
) -> None:
    from folium.raster_layers import ImageOverlay
    from rasterio.warp import transform_bounds

    host = Host(results=downloaded(tmp_path / "job"))
    fmap = host.map_results(bands=[2])
    overlays = [child for child in fmap._children.values() if isinstance(child, ImageOverlay)]
    assert len(overlays) == 2
    for overlay, (x, y) in zip(overlays, ORIGINS, strict=True):
        west, south, east, north = transform_bounds(
            "EPSG:32633", "EPSG:4326", x, y - 48 * PIXEL_METRES, x + 64 * PIXEL_METRES, y
        )
        (got_south, got_west), (got_north, got_east) = overlay.bounds
        assert np.allclose(
            [got_south, got_west, got_north, got_east], [south, west, north, east], atol=1e-3
        )
    for rgba in overlay_pixels(fmap.get_root().render()):
        opaque = rgba[..., 3] == 255
        assert 0.5 < opaque.mean() < 1.0  # the no-data corner and the warp's edges are clear
        assert set(np.unique(rgba[..., 3])) == {0, 255}
        red, green, blue = (rgba[..., channel][opaque] for channel in range(3))
        assert (red == green).all() and (green == blue).all()  # one band: grey
        assert red.min() < 30 and red.max() > 225  # stretched over the whole range


def test_map_results_refuses_two_bands(tmp_path: Path) -> None:
    host = Host(results=downloaded(tmp_path / "job"))
    with pytest.raises(ConfigurationError, match="one or three bands"):
        host.map_results(bands=[1, 2])


def test_map_results_without_images_needs_no_download(tmp_path: Path) -> None:
    host = Host()
    html = host.map_results(show_images=False).get_root().render()
    assert UIDS[0] in html
    assert "data:image/png" not in html
    assert host.asked == [True]


def test_map_results_with_images_but_nothing_downloaded_says_to_download_first() -> None:
    with pytest.raises(ValueError, match=r"download_results\(\) first"):
        Host().map_results()


def test_map_results_writes_the_html_to_a_folder_or_a_file(tmp_path: Path) -> None:
    host = Host(results=downloaded(tmp_path / "job"))
    host.map_results(save_html=tmp_path / "maps")
    classic_file = tmp_path / "maps" / "final_map.html"
    assert UIDS[1] in classic_file.read_text(encoding="utf-8")
    host.map_results(show_images=False, save_html=str(tmp_path / "out" / "scenes.html"))
    assert UIDS[1] in (tmp_path / "out" / "scenes.html").read_text(encoding="utf-8")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["scenes.html"]


def test_map_results_outlines_an_aoi_given_in_any_crs(tmp_path: Path) -> None:
    aoi_ring = [[13.3123, 52.4123], [13.3123, 52.4321], [13.3321, 52.4321], [13.3123, 52.4123]]
    aoi = feature_collection_to_geodataframe(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": [aoi_ring]},
                        "properties": {"name": "area of interest"},
                    }
                ],
            }
        ).encode()
    ).to_crs("EPSG:3857")
    html = Host().map_results(show_images=False, aoi=aoi).get_root().render()
    assert '"aoi"' in html  # the layer, in the layer control
    numbers = [float(text) for text in re.findall(r"-?\d+\.\d+", html)]
    # Drawn back in degrees (web maps take WGS 84), not in the metres it was given in.
    for value in (13.3123, 52.4123, 13.3321, 52.4321):
        assert any(abs(number - value) < 1e-9 for number in numbers), value
    assert not any(abs(number) > 1e5 for number in numbers)


def test_plot_coverage_draws_the_footprints_with_a_legend_or_without(tmp_path: Path) -> None:
    scenes = Host().get_results_json(as_dataframe=True)
    figure = plot_coverage(scenes, legend_column="uid", figsize=(4, 5))
    pixels = saved_pixels(figure, tmp_path / "coverage.png", dpi=50)
    assert pixels.shape[:2] == (250, 200)
    assert_drawn(pixels, colours=3)
    assert figure.axes[0].get_legend() is not None
    # classic's default column, sceneId, is not in a job's data.json: no legend, no error
    figure = Host.plot_coverage(scenes, aoi=scenes.iloc[:1])
    assert figure.axes[0].get_legend() is None
    assert_drawn(saved_pixels(figure, tmp_path / "coverage_aoi.png", dpi=50), colours=3)


def test_plot_coverage_of_something_else_than_a_geodataframe_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="have to be a GeoDataFrame"):
        plot_coverage(data_json())  # type: ignore[arg-type]


def test_the_plots_call_plt_show_only_where_a_figure_can_be_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.pyplot as plt

    shown: list[int] = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: shown.append(1))
    host = Host(results=[write_geotiff(tmp_path / "scene.tif")])
    host.plot_results()
    assert shown == []
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    # Shown, so not returned too: a notebook would draw a returned figure a second time.
    assert host.plot_results() is None
    assert shown == [1]
    plt.close("all")


@pytest.mark.parametrize(
    ("member", "missing"),
    [
        ("plot_results", "matplotlib"),
        ("plot_results", "rasterio"),
        ("plot_quicklooks", "matplotlib"),
        ("map_results", "folium"),
        ("map_results", "rasterio"),
        ("plot_coverage", "matplotlib"),
    ],
)
def test_without_the_viz_extra_each_member_says_how_to_install_it(
    member: str, missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    host = Host(results=downloaded(tmp_path / "job"), quicklooks=[])
    call = {
        "plot_results": host.plot_results,
        "plot_quicklooks": host.plot_quicklooks,
        "map_results": host.map_results,
        "plot_coverage": lambda: plot_coverage(host.get_results_json(as_dataframe=True)),
    }[member]
    with pytest.raises(ImportError, match=r"pip install 'up42-facade\[viz\]'") as raised:
        call()
    assert raised.value.name == missing


def test_without_any_of_the_viz_extra_every_member_raises_import_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("matplotlib", "folium", "rasterio"):
        monkeypatch.setitem(sys.modules, name, None)
    host = Host()
    for call in (host.plot_results, host.plot_quicklooks, host.map_results):
        with pytest.raises(ImportError, match=r"up42-facade\[viz\]"):
            call()
    with pytest.raises(ImportError, match=r"up42-facade\[viz\]"):
        Host.plot_coverage(None)  # type: ignore[arg-type]


def test_the_mixin_members_keep_the_classic_signatures() -> None:
    import inspect

    def defaults(function: Any) -> list[tuple[str, Any]]:
        """(name, default) in order: positional calls written for classic must still bind."""
        return [
            (name, parameter.default)
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is not inspect.Parameter.empty
        ]

    assert defaults(VizMixin.plot_results) == [
        ("figsize", (14, 8)),
        ("bands", None),
        ("titles", None),
        ("filepaths", None),
        ("plot_file_format", None),
    ]
    assert defaults(VizMixin.plot_quicklooks) == [
        ("figsize", (8, 8)),
        ("titles", None),
        ("filepaths", None),
    ]
    assert defaults(VizMixin.map_results) == [
        ("bands", None),
        ("aoi", None),
        ("show_images", True),
        ("show_features", True),
        ("name_column", "uid"),
        ("save_html", None),
    ]
    assert defaults(VizMixin.plot_coverage) == [
        ("aoi", None),
        ("legend_column", "sceneId"),
        ("figsize", (12, 16)),
    ]
    assert VizMixin.plot_coverage is _viz.plot_coverage
