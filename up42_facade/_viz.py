"""The classic SDK's visualisation members: ``plot_results``, ``plot_quicklooks``, ``map_results``.

``Job`` and ``JobTask`` inherit them from ``VizMixin``; ``plot_coverage`` is also a function of
this module. They need the ``viz`` extra (matplotlib, folium, rasterio), imported on first use:
without it every member raises ``ImportError`` naming ``pip install 'up42-facade[viz]'``.

Differences from classic (up42-py 0.33.1), all additive:

- Each plotting member also returns its matplotlib ``Figure``. ``plt.show()`` is called only
  on a backend that can show something; on a file-only backend (Agg, as on a server without a
  display) the figure is not registered with pyplot, so repeated calls leak nothing.
- 16-bit and float rasters are stretched for display (2nd-98th percentile per band) instead
  of being clipped to white by matplotlib; rasters are read at display resolution.
- ``map_results`` draws the footprints as one GeoJSON layer with a popup per feature (shown
  when ``show_features`` is true or no image is drawn), and warps each raster to the map's
  Web Mercator (classic stretched an EPSG:4326 image over it), no-data pixels transparent.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._errors import ConfigurationError

if TYPE_CHECKING:
    import folium
    import geopandas
    import numpy as np
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["VizMixin", "plot_coverage"]

LOGGER = logging.getLogger("up42_facade")

VIZ_INSTALL_HINT = "pip install 'up42-facade[viz]'"

# Classic defaults: bands 1, 2, 3 as RGB; results plots take GeoTIFFs, quicklooks PNG/JPEG.
DEFAULT_BANDS = (1, 2, 3)
RESULT_FORMATS = (".tif",)
QUICKLOOK_FORMATS = (".jpg", ".jpeg", ".png")

# Classic's grid: one image alone, else three per row.
GRID_COLUMNS = 3

# matplotlib's backends that only write files: plt.show() there does nothing but warn.
FILE_ONLY_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})

# Longest side, in pixels, a raster is read at: more than a screen shows (plots) or a web map
# needs (overlays), and it keeps a 10,000-pixel scene from costing gigabytes or a huge HTML.
PLOT_MAX_PIXELS = 2048
OVERLAY_MAX_PIXELS = 1024

# Percentiles of the display stretch for rasters that are not 8-bit.
STRETCH_PERCENTILES = (2.0, 98.0)

# Web maps (Leaflet, so folium) draw in Web Mercator; overlays are warped to it.
WEB_MERCATOR = "EPSG:3857"

# Classic drew at most 100 features on a map, to spare the browser's memory.
MAP_MAX_FEATURES = 100
# Classic collapsed the layer control beyond 4 features.
MAP_COLLAPSE_LAYERS_ABOVE = 4
# Classic's file name when save_html is a folder.
MAP_HTML_NAME = "final_map.html"
# Classic's styles: blue footprints, a red AOI, highlighted on hover.
FOOTPRINT_STYLE = {"fillColor": "#5288c4", "color": "blue", "weight": 2.5, "dashArray": "5, 5"}
AOI_STYLE = {**FOOTPRINT_STYLE, "color": "red"}
HIGHLIGHT_STYLE = {"fillColor": "#ffaf00", "color": "red", "weight": 3.5}
# Classic's satellite layer (Esri World Imagery), beside OpenStreetMap, with its attribution.
SATELLITE_TILES = "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}.png"
SATELLITE_NAME = "Satellite - ESRI"
SATELLITE_ATTRIBUTION = (
    "Tiles &copy; Esri &mdash; Source: Esri, i-cubed, USDA, USGS, AEX, GeoEye, Getmapping, "
    "Aerogrid, IGN, IGP, UPR-EGP, and the GIS User Community"
)


class _VizHost(Protocol):
    """What ``VizMixin`` needs from the class it is mixed into (``Job``, ``JobTask``)."""

    quicklooks: list[str] | None

    def _api_footprints(self) -> geopandas.GeoDataFrame:
        """The footprints from the API, when nothing is downloaded."""

    def _downloaded_results(self) -> list[str] | None:
        """The paths of the last ``download_results()``, or None."""


def _require(member: str, *modules: str) -> None:
    """Import the viz extra's modules a member needs, or say how to install them.

    Raises:
        ImportError: One of ``modules`` is not importable.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ImportError(
                f"{member}() needs {', '.join(modules)}, which come with the viz extra: "
                f"{VIZ_INSTALL_HINT}",
                name=name,
            ) from error


def plot_coverage(
    scenes: geopandas.GeoDataFrame,
    aoi: geopandas.GeoDataFrame | None = None,
    legend_column: str = "sceneId",
    figsize: tuple[float, float] = (12, 16),
) -> Figure | None:
    """Plot a coverage map of scene footprints, as the classic SDK did.

    Example::

        plot_coverage(job.get_results_json(as_dataframe=True), legend_column="uid")

    Args:
        scenes: Footprints, e.g. ``job.get_results_json(as_dataframe=True)``.
        aoi: An area of interest to outline in red.
        legend_column: The column that colours the footprints and fills the legend; when the
            frame has no such column, the footprints are plotted without a legend.
        figsize: The figure size in inches.

    Returns:
        None after showing the figure on a backend that can show it (as classic did); the
        figure on a backend that only writes files (Agg).

    Raises:
        ImportError: matplotlib is not installed.
        TypeError: ``scenes`` or ``aoi`` is not a GeoDataFrame (as classic raised).
    """
    _require("plot_coverage", "matplotlib")
    if not hasattr(scenes, "plot") or (aoi is not None and not hasattr(aoi, "plot")):
        raise TypeError("'scenes' and 'aoi' (optional) have to be a GeoDataFrame.")  # classic's
    figure, axes = _new_figure(1, 1, figsize)
    ax = axes[0]
    if legend_column in scenes.columns:
        scenes.plot(
            column=legend_column,
            categorical=True,
            cmap="Set3",
            legend=True,
            alpha=0.7,
            legend_kwds={"loc": "upper left", "bbox_to_anchor": (1, 1)},
            ax=ax,
        )
    else:
        LOGGER.info("Column %r is not in the scenes, plotting without legend.", legend_column)
        scenes.plot(cmap="Set3", alpha=0.7, ax=ax)
    if aoi is not None:
        aoi.plot(ax=ax, facecolor="none", edgecolor="r", linewidth=1)
    ax.set_axis_off()
    return _show(figure)


class VizMixin:
    """Classic visualisation members for ``Job`` and ``JobTask`` (needs the ``viz`` extra).

    The class mixing it in provides ``results`` and ``quicklooks`` (paths of the last
    downloads, or None) and ``get_results_json(as_dataframe=False)``; the footprints come
    from the downloaded data.json, else from ``_api_footprints``.

    Example::

        job.download_results()
        job.plot_results(bands=[4, 3, 2])
        job.map_results(save_html="maps/")  # writes maps/final_map.html
    """

    plot_coverage = staticmethod(plot_coverage)

    def _api_footprints(self) -> geopandas.GeoDataFrame:
        """The footprints from the API (``get_results_json(as_dataframe=True)``)."""
        frame: geopandas.GeoDataFrame = self.get_results_json(as_dataframe=True)  # type: ignore[attr-defined]
        return frame

    def _downloaded_results(self) -> list[str] | None:
        """The paths of the last ``download_results()`` (``results``), or None."""
        results: list[str] | None = self.results  # type: ignore[attr-defined]
        return results

    def plot_results(
        self,
        figsize: tuple[float, float] = (14, 8),
        bands: Sequence[int] | None = None,
        titles: Sequence[str] | None = None,
        filepaths: Sequence[str | os.PathLike[str]] | None = None,
        plot_file_format: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Figure | None:
        """Plot the downloaded raster results in a grid, three per row.

        Args:
            figsize: The figure size in inches.
            bands: The bands to plot, 1-based: three for RGB, or one (grey unless ``cmap`` is
                given). Default ``[1, 2, 3]``.
            titles: One title per image; default the file names without suffix.
            filepaths: The images; default the files of the last ``download_results()``.
            plot_file_format: The suffixes of the files to plot; default ``[".tif"]``.
            **kwargs: Passed to matplotlib's ``imshow`` (``cmap``, ``vmin``, ...), as classic
                passed them through ``rasterio.plot.show``.

        Returns:
            None after showing the figure, as classic did, on a backend that can show it
            (a window, a notebook: returning it too would draw it twice there); the figure
            on a backend that only writes files (Agg), to save or inspect.

        Raises:
            ImportError: The viz extra is not installed.
            ConfigurationError: Nothing downloaded yet and no ``filepaths``, no file of the
                given formats, or ``bands`` neither one nor three bands (a ``ValueError``).
        """
        _require("plot_results", "matplotlib", "rasterio")
        bands = list(DEFAULT_BANDS if bands is None else bands)
        if len(bands) not in (1, 3):
            raise ConfigurationError(f"bands must hold one or three bands, not {bands}")
        if len(bands) == 1:
            kwargs.setdefault("cmap", "gray")
        formats = tuple(RESULT_FORMATS if plot_file_format is None else plot_file_format)
        paths = _images(
            filepaths,
            cast(_VizHost, self)._downloaded_results(),
            formats,
            "results",
            "download_results",
        )
        figure, axes = _new_figure(*_grid(len(paths)), figsize)
        for ax, path, title in zip(axes, paths, _titles(titles, paths), strict=False):
            array, transform, _ = _read_raster(path, bands, PLOT_MAX_PIXELS)
            # A single-band raster read for the default RGB bands is grey too, as in classic.
            grey = {"cmap": "gray"} if array.shape[0] == 1 else {}
            _plot_array(ax, array, transform, title, {**grey, **kwargs})
        return _finish_grid(figure, axes, len(paths))

    def plot_quicklooks(
        self,
        figsize: tuple[float, float] = (8, 8),
        titles: Sequence[str] | None = None,
        filepaths: Sequence[str | os.PathLike[str]] | None = None,
    ) -> Figure | None:
        """Plot the downloaded quicklooks (PNG or JPEG) in a grid, three per row.

        Args:
            figsize: The figure size in inches.
            titles: One title per image; default the file names without suffix.
            filepaths: The images; default the files of the last ``download_quicklooks()``.

        Returns:
            None after showing the figure, as classic did, on a backend that can show it
            (a window, a notebook: returning it too would draw it twice there); the figure
            on a backend that only writes files (Agg), to save or inspect.

        Raises:
            ImportError: The viz extra is not installed.
            ConfigurationError: Nothing downloaded yet and no ``filepaths``, or no PNG or JPEG
                among them (a ``ValueError``).
        """
        _require("plot_quicklooks", "matplotlib")
        from PIL import Image

        paths = _images(
            filepaths,
            cast(_VizHost, self).quicklooks,
            QUICKLOOK_FORMATS,
            "quicklooks",
            "download_quicklooks",
        )
        figure, axes = _new_figure(*_grid(len(paths)), figsize)
        for ax, path, title in zip(axes, paths, _titles(titles, paths), strict=False):
            with Image.open(path) as image:
                image.thumbnail((PLOT_MAX_PIXELS, PLOT_MAX_PIXELS))
                # RGBA keeps transparency; palette and grey images display in their colours.
                ax.imshow(image.convert("RGBA"))
            ax.set_title(title, fontweight="bold")
        return _finish_grid(figure, axes, len(paths))

    def map_results(
        self,
        bands: Sequence[int] | None = None,
        aoi: geopandas.GeoDataFrame | None = None,
        show_images: bool = True,
        show_features: bool = True,
        name_column: str = "uid",
        save_html: str | os.PathLike[str] | None = None,
    ) -> folium.Map:
        """Put the results on a web map: footprints, properties, and the downloaded images.

        Footprints come from the downloaded ``data.json`` (or the API when nothing is
        downloaded and ``show_images`` is false). Only the first 100 features are drawn.

        Args:
            bands: The bands of the image overlays, 1-based; default ``[1, 2, 3]`` (or band 1
                of a raster with fewer bands).
            aoi: An area of interest (GeoDataFrame) to outline in red.
            show_images: Draw the downloaded GeoTIFFs.
            show_features: Show the footprints layer when the map opens (it is in the layer
                control either way, and shown when no image is drawn).
            name_column: The property naming each feature in tooltips and layer names.
            save_html: Also write the map here: a ``.html`` file, or a folder to hold
                ``final_map.html`` (classic).

        Returns:
            The map; it renders itself in a notebook.

        Raises:
            ImportError: The viz extra is not installed.
            ConfigurationError: ``show_images`` but no results downloaded yet, or ``bands``
                neither one nor three bands (a ``ValueError``).
        """
        _require("map_results", "folium", "rasterio")
        import folium

        bands = list(DEFAULT_BANDS if bands is None else bands)
        if len(bands) not in (1, 3):
            raise ConfigurationError(f"bands must hold one or three bands, not {bands}")
        host = cast(_VizHost, self)
        if show_images and host._downloaded_results() is None:
            raise ConfigurationError(
                "no results downloaded yet: call download_results() first "
                "(or map_results(show_images=False) for the footprints alone)"
            )
        frame = _footprints(host)
        if len(frame) > MAP_MAX_FEATURES:
            LOGGER.info("Only the first %d features are put on the map.", MAP_MAX_FEATURES)
            frame = frame.iloc[:MAP_MAX_FEATURES]

        fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
        folium.TileLayer(
            tiles=SATELLITE_TILES, attr=SATELLITE_ATTRIBUTION, name=SATELLITE_NAME, overlay=False
        ).add_to(fmap)
        images = 0
        if show_images:
            images = _add_overlays(
                fmap, host._downloaded_results() or [], frame, bands, name_column
            )
        _add_footprints(fmap, frame, name_column, show=show_features or images == 0)
        if aoi is not None:
            _add_aoi(fmap, aoi)
        folium.LayerControl(
            position="bottomleft", collapsed=len(frame) > MAP_COLLAPSE_LAYERS_ABOVE
        ).add_to(fmap)
        bounds = _bounds(frame, aoi)
        if bounds is not None:
            fmap.fit_bounds(bounds)
        if save_html is not None:
            _save_map(fmap, Path(save_html))
        return fmap


def _images(
    filepaths: Sequence[str | os.PathLike[str]] | None,
    downloaded: list[str] | None,
    formats: tuple[str, ...],
    what: str,
    download: str,
) -> list[Path]:
    """The files to plot: given or downloaded, of the accepted formats.

    Raises:
        ConfigurationError: Nothing given nor downloaded, or no file of ``formats``.
    """
    if filepaths is None:
        if downloaded is None:
            raise ConfigurationError(
                f"no {what} downloaded yet: call {download}() first, or pass filepaths"
            )
        filepaths = downloaded
    elif isinstance(filepaths, str | os.PathLike):
        filepaths = [filepaths]  # classic accepted one path as well
    accepted = {suffix.lower() for suffix in formats}
    paths = [Path(path) for path in filepaths if Path(path).suffix.lower() in accepted]
    if not paths:
        raise ConfigurationError(f"no file of format {list(formats)} to plot among {what}")
    return paths


def _titles(titles: Sequence[str] | str | None, paths: list[Path]) -> list[str]:
    """The subplot titles: given (one string counts as a list of one), else the file stems."""
    if not titles:
        return [path.stem for path in paths]
    if isinstance(titles, str):
        return [titles]
    return list(titles)


def _grid(count: int) -> tuple[int, int]:
    """Rows and columns for ``count`` images: classic's single image, else three per row."""
    if count < 2:
        return 1, 1
    return math.ceil(count / GRID_COLUMNS), GRID_COLUMNS


def _interactive() -> bool:
    """Whether the current matplotlib backend can show a figure (a window, a notebook)."""
    import matplotlib

    return matplotlib.get_backend().lower() not in FILE_ONLY_BACKENDS


def _new_figure(rows: int, columns: int, figsize: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """A figure with a grid of axes, registered with pyplot only if it will be shown."""
    if _interactive():
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=figsize)
    else:
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize)
    axes = figure.subplots(nrows=rows, ncols=columns, squeeze=False)
    return figure, list(axes.ravel())


def _finish_grid(figure: Figure, axes: list[Axes], used: int) -> Figure | None:
    """Hide the axes' frames and the unused cells, lay out, and show."""
    for index, ax in enumerate(axes):
        ax.set_axis_off()
        if index >= used:
            ax.set_visible(False)
    figure.tight_layout()
    return _show(figure)


def _show(figure: Figure) -> Figure | None:
    """Show the figure as classic did (``plt.show()``) where that is possible, else return it."""
    if not _interactive():
        return figure
    import matplotlib.pyplot as plt

    plt.show()
    return None


def _read_raster(
    path: Path, bands: list[int], max_pixels: int, *, to_crs: str | None = None
) -> tuple[np.ma.MaskedArray[Any, Any], Any, bool]:
    """Read bands of a raster at display resolution, masked where there is no data.

    Args:
        path: The raster.
        bands: The bands to read, 1-based (band 1 alone when the raster has fewer).
        max_pixels: The longest side of the array read.
        to_crs: Warp to this CRS first, if the raster has a CRS.

    Returns:
        The bands (bands, rows, columns), the affine transform of that array, and whether
        the raster is georeferenced.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.vrt import WarpedVRT

    with warnings.catch_warnings():
        # Plain images have no georeference; they are still worth plotting.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as source:
            if source.crs is None:
                return (*_read_bands(source, bands, max_pixels), False)
            if to_crs is None:
                return (*_read_bands(source, bands, max_pixels), True)
            with WarpedVRT(source, crs=to_crs) as warped:
                return (*_read_bands(warped, bands, max_pixels), True)


def _read_bands(source: Any, bands: list[int], max_pixels: int) -> tuple[Any, Any]:
    """Read ``bands`` (or band 1 when the raster has fewer) scaled to ``max_pixels``."""
    from rasterio.transform import Affine

    indexes = bands if max(bands) <= source.count else [1]
    scale = max(1.0, max(source.height, source.width) / max_pixels)
    rows = max(1, round(source.height / scale))
    columns = max(1, round(source.width / scale))
    array = source.read(indexes, out_shape=(len(indexes), rows, columns), masked=True)
    transform = source.transform @ Affine.scale(source.width / columns, source.height / rows)
    return array, transform


def _stretch(array: Any) -> npt.NDArray[np.float64]:
    """Scale each band to 0..1 for display: 8-bit as is, else a percentile stretch."""
    import numpy as np

    bands = np.ma.masked_invalid(array.astype(np.float64))
    if array.dtype == np.uint8:
        return np.asarray(bands.filled(0.0) / 255.0)
    out = np.zeros(bands.shape, dtype=np.float64)
    for index, band in enumerate(bands):
        valid = band.compressed()
        if valid.size == 0:
            continue
        low, high = np.percentile(valid, STRETCH_PERCENTILES)
        if high <= low:
            low, high = float(valid.min()), float(valid.max())
        span = high - low if high > low else 1.0
        out[index] = np.clip((band.filled(low) - low) / span, 0.0, 1.0)
    return out


def _plot_array(ax: Axes, array: Any, transform: Any, title: str, kwargs: dict[str, Any]) -> None:
    """Draw one raster on ``ax`` as classic did with ``rasterio.plot.show``.

    That is ``imshow`` over the raster's bounds, ``aspect="auto"``, a bold title. Drawn here
    rather than through rasterio.plot, whose extent uses the ``Affine * tuple`` form that
    affine >= 3 deprecates.
    """
    import numpy as np

    options = {"aspect": "auto", **kwargs}
    if array.shape[0] == 1:
        # One band: raw values (masked pixels blank), so cmap, vmin and vmax mean what they say.
        image: Any = np.ma.masked_invalid(array[0].astype(np.float64))
    else:
        image = np.moveaxis(_stretch(array), 0, -1)
    rows, columns = array.shape[1:]
    left, top = transform @ (0, 0)
    right, bottom = transform @ (columns, rows)
    ax.imshow(image, extent=(left, right, bottom, top), **options)
    ax.set_title(title, fontweight="bold")


def _footprints(host: _VizHost) -> geopandas.GeoDataFrame:
    """The features: the downloaded data.json (as classic read it), else from the API."""
    from ._results import feature_collection_to_geodataframe

    for suffix in (".geojson", ".json"):
        for path in host._downloaded_results() or []:
            if path.endswith(suffix):
                return feature_collection_to_geodataframe(Path(path).read_bytes())
    return host._api_footprints()


def _feature_names(frame: geopandas.GeoDataFrame, name_column: str) -> list[str]:
    """Each feature's display name: its ``name_column`` value, or "" without that column."""
    if name_column not in frame.columns:
        return [""] * len(frame)
    return ["" if value is None else str(value) for value in frame[name_column].tolist()]


def _add_overlays(
    fmap: folium.Map,
    results: list[str],
    frame: geopandas.GeoDataFrame,
    bands: list[int],
    name_column: str,
) -> int:
    """Put each downloaded GeoTIFF onto the map; return how many were put.

    A raster is named after the feature whose ``up42.data_path`` it is, else after the
    feature at its position (classic), else after its file.
    """
    import numpy as np
    from folium.raster_layers import ImageOverlay
    from rasterio.warp import transform_bounds

    rasters = [Path(path) for path in results if Path(path).suffix.lower() in RESULT_FORMATS]
    names = _feature_names(frame, name_column)
    data_paths = frame["up42.data_path"].tolist() if "up42.data_path" in frame.columns else []
    bounds_of = frame.bounds.to_numpy().tolist()
    put = 0
    for position, raster in enumerate(rasters[:MAP_MAX_FEATURES]):
        feature = _match_feature(raster, data_paths, position, len(frame))
        # In the map's own projection, so the image lies exactly where it belongs.
        array, transform, georeferenced = _read_raster(
            raster, bands, OVERLAY_MAX_PIXELS, to_crs=WEB_MERCATOR
        )
        if georeferenced:
            left, top = transform @ (0, 0)
            right, bottom = transform @ (array.shape[2], array.shape[1])
            west, south, east, north = transform_bounds(
                WEB_MERCATOR, "EPSG:4326", left, bottom, right, top
            )
        elif feature is not None:
            west, south, east, north = bounds_of[feature]  # classic: the footprint's box
        else:
            continue  # neither georeferenced nor matched to a footprint: nowhere to put it
        stretched = _stretch(array)
        rgba = np.zeros((array.shape[1], array.shape[2], 4), dtype=np.uint8)
        for channel in range(3):
            rgba[..., channel] = np.round(stretched[min(channel, len(stretched) - 1)] * 255)
        rgba[..., 3] = np.where(np.ma.getmaskarray(array).any(axis=0), 0, 255)
        label = names[feature] if feature is not None and names[feature] else raster.stem
        # uint8 RGBA goes into the PNG as it is (folium rescales float images per channel).
        ImageOverlay(
            rgba, bounds=[[south, west], [north, east]], name=f"Image {position + 1} - {label}"
        ).add_to(fmap)
        put += 1
    return put


def _match_feature(raster: Path, data_paths: list[Any], position: int, count: int) -> int | None:
    """The index of the feature a raster belongs to, or None."""
    posix = raster.as_posix()
    for index, data_path in enumerate(data_paths):
        if isinstance(data_path, str) and data_path and posix.endswith(data_path):
            return index
    return position if position < count else None


def _popup_frame(frame: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:
    """A copy whose nested properties are JSON text, so popups show them instead of [object]."""
    shown = frame.copy()
    for column in shown.columns:
        if column != shown.geometry.name and shown[column].dtype == object:
            shown[column] = [
                json.dumps(value) if isinstance(value, dict | list) else value
                for value in shown[column].tolist()
            ]
    return shown


def _add_footprints(
    fmap: folium.Map, frame: geopandas.GeoDataFrame, name_column: str, *, show: bool
) -> None:
    """Add the footprints as one GeoJSON layer, a popup of properties on each."""
    import folium

    if frame.empty:
        return
    shown = _popup_frame(frame)
    fields = [column for column in shown.columns if column != shown.geometry.name]
    layer = folium.GeoJson(
        shown.to_json(),
        name="Footprints",
        style_function=lambda _feature: FOOTPRINT_STYLE,
        highlight_function=lambda _feature: HIGHLIGHT_STYLE,
        show=show,
    )
    if fields:
        folium.GeoJsonPopup(fields=fields).add_to(layer)
    if name_column in fields:
        folium.GeoJsonTooltip(fields=[name_column]).add_to(layer)
    layer.add_to(fmap)


def _add_aoi(fmap: folium.Map, aoi: Any) -> None:
    """Outline the area of interest in red (a GeoDataFrame in any CRS, or GeoJSON)."""
    import folium

    data = aoi
    if hasattr(aoi, "to_crs") and aoi.crs is not None:
        data = aoi.to_crs("EPSG:4326")
    folium.GeoJson(
        data.to_json() if hasattr(data, "to_json") else data,
        name="aoi",
        style_function=lambda _feature: AOI_STYLE,
        highlight_function=lambda _feature: HIGHLIGHT_STYLE,
    ).add_to(fmap)


def _bounds(frame: geopandas.GeoDataFrame, aoi: Any) -> list[list[float]] | None:
    """The map's extent, [[south, west], [north, east]], over footprints and AOI."""
    import numpy as np

    boxes = []
    if not frame.empty and not frame.geometry.is_empty.all():
        boxes.append(frame.total_bounds)
    if aoi is not None and hasattr(aoi, "total_bounds"):
        area = aoi.to_crs("EPSG:4326") if aoi.crs is not None else aoi
        boxes.append(area.total_bounds)
    boxes = [box for box in boxes if np.isfinite(box).all()]
    if not boxes:
        return None
    stacked = np.array(boxes)
    west, south = stacked[:, 0].min(), stacked[:, 1].min()
    east, north = stacked[:, 2].max(), stacked[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _save_map(fmap: folium.Map, target: Path) -> None:
    """Write the map's HTML to ``target`` (a file, or a folder for classic's file name).

    The HTML goes to a temporary file first, so a failure leaves no half-written map.
    """
    if target.suffix.lower() not in (".html", ".htm"):
        target = target / MAP_HTML_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    html = fmap.get_root().render()
    from ._files import write_atomically

    write_atomically(target, html.encode("utf-8"))
