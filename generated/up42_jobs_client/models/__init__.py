"""Contains all the data models used in inputs/outputs"""

from .actor import Actor
from .block import Block
from .cancel_envelope import CancelEnvelope
from .credits_ import Credits
from .credits_envelope import CreditsEnvelope
from .download_url import DownloadUrl
from .download_url_envelope import DownloadUrlEnvelope
from .error_detail import ErrorDetail
from .error_envelope import ErrorEnvelope
from .feature import Feature
from .feature_collection import FeatureCollection
from .feature_collection_type import FeatureCollectionType
from .feature_properties_type_0 import FeaturePropertiesType0
from .feature_type import FeatureType
from .geometry_collection import GeometryCollection
from .geometry_collection_type import GeometryCollectionType
from .job import Job
from .job_envelope import JobEnvelope
from .job_inputs import JobInputs
from .job_list_envelope import JobListEnvelope
from .job_task import JobTask
from .job_task_list_envelope import JobTaskListEnvelope
from .known_job_mode import KnownJobMode
from .known_job_status import KnownJobStatus
from .line_string import LineString
from .line_string_type import LineStringType
from .multi_line_string import MultiLineString
from .multi_line_string_type import MultiLineStringType
from .multi_point import MultiPoint
from .multi_point_type import MultiPointType
from .multi_polygon import MultiPolygon
from .multi_polygon_type import MultiPolygonType
from .no_error import NoError
from .o_auth_error import OAuthError
from .point import Point
from .point_type import PointType
from .polygon import Polygon
from .polygon_type import PolygonType
from .problem import Problem
from .quicklook_list_envelope import QuicklookListEnvelope
from .token_data import TokenData
from .token_request import TokenRequest
from .token_request_grant_type import TokenRequestGrantType
from .token_response import TokenResponse

__all__ = (
    "Actor",
    "Block",
    "CancelEnvelope",
    "Credits",
    "CreditsEnvelope",
    "DownloadUrl",
    "DownloadUrlEnvelope",
    "ErrorDetail",
    "ErrorEnvelope",
    "Feature",
    "FeatureCollection",
    "FeatureCollectionType",
    "FeaturePropertiesType0",
    "FeatureType",
    "GeometryCollection",
    "GeometryCollectionType",
    "Job",
    "JobEnvelope",
    "JobInputs",
    "JobListEnvelope",
    "JobTask",
    "JobTaskListEnvelope",
    "KnownJobMode",
    "KnownJobStatus",
    "LineString",
    "LineStringType",
    "MultiLineString",
    "MultiLineStringType",
    "MultiPoint",
    "MultiPointType",
    "MultiPolygon",
    "MultiPolygonType",
    "NoError",
    "OAuthError",
    "Point",
    "PointType",
    "Polygon",
    "PolygonType",
    "Problem",
    "QuicklookListEnvelope",
    "TokenData",
    "TokenRequest",
    "TokenRequestGrantType",
    "TokenResponse",
)
