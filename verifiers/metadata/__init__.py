"""What the file's own metadata (EXIF, XMP, C2PA) says, and where it contradicts the post.

Pure: bytes in, facts and findings out. Platforms strip most metadata, so absence is
stated as a fact, never as a red flag.

Findings (`metadata_findings`), each with the fields that prove it:

| code | red flag | when |
|---|---|---|
| metadata_absent | no | no EXIF and no XMP (and no C2PA) in the file |
| metadata_unreadable | no | the EXIF block is malformed or hostile (the reason says where) |
| metadata_present | no | what the file has, and what it does not |
| capture_before_post | yes | an EXIF date (original, digitised or modified) is older than the post by more than the margin |
| capture_after_post | no | the capture date is after the post: the camera clock (or the date) is wrong |
| capture_time | no | the capture date, when it does not contradict the post |
| dates_disagree | yes | DateTimeOriginal vs DateTimeDigitized differ by more than 2 minutes, DateTime (modified) is before either, or the GPS clock disagrees with the camera clock by more than 2 hours (16 h when the camera recorded no offset) |
| editing_software | yes | Software / ProcessingSoftware / XMP CreatorTool or history names an editor |
| software | no | software that is not an editor (camera firmware, a phone OS) |
| camera | no | make, model, serial, lens |
| gps_present | no | position with a map link for a person to judge, altitude, GPS time, datum |
| thumbnail_differs | yes | the embedded EXIF thumbnail shows another picture or framing |
| thumbnail_matches | no | the thumbnail shows the same picture |
| thumbnail_unreadable | no | the thumbnail is declared but broken or too flat to compare |
| declared_ai_generated | yes | XMP says IPTC DigitalSourceType trainedAlgorithmicMedia (or composite with it) |
| c2pa_* | see verifiers/provenance.py | Content Credentials |

Thumbnail threshold (THUMBNAIL_DIFF_BITS = 24, of the 128 bits of pHash + dHash). Measured
with `fixtures/metadata/make_metadata_fixtures.py --measure` on the 20 photographs that
scikit-image ships plus 10 half-frame crops of the larger ones (30 pictures): thumbnails made
as cameras do (160x120 letterboxed, 160x120 cropped or plain, 120x160, 96x72, 320x240;
JPEG quality 60-90) against the main image:
  same picture, any thumbnail style: max 9 bits (210 pairs);
  main brightened/contrasted/greyscaled after the thumbnail: max 8;
  main cropped 5% each side: 6-28 (median 17, 17% over); 15%: 26-55; mirrored: 33-83;
  a different picture: min 35, 1st percentile 37, median 56 (868 pairs);
  the two frames of scikit-image's stereo pair (same scene, two lenses): 20.
Three readings are compared and the smallest distance is kept, so that a camera's
letterboxing or cropping of the thumbnail is not mistaken for a different picture: the
thumbnail with uniform dark bars trimmed against the main image; the thumbnail against the
main image letterboxed into the thumbnail's box; and against the main image cropped to it.

Hostile EXIF: exifread follows offsets wherever they point, re-reads a sub-IFD as often as
it is referenced (an IFD with thousands of GPSInfo entries pointing back at itself makes it
parse millions of entries) and loops up to a tag's count. So the TIFF structure is walked
first (`check_exif_structure`): every IFD must lie inside the EXIF block (the APP1 segment,
PNG eXIf or WebP EXIF chunk, never the whole file), no IFD may be reached twice (loops and
shared IFDs), every value must lie inside the block (a count of 0xFFFFFFFF does not), and
the work exifread will do is budgeted. Only a block that passes is handed to exifread, so
the worst case is bounded by the block size (64 KB for JPEG) and the budgets below:
measured here, a block built to fill every budget takes ~170 ms, a rejected one < 1 ms,
while exifread 3.5.1 alone runs for more than 60 s on fixtures/metadata/hostile-gps-fanout.jpg
(and on hostile-huge-count.jpg with its default details=True). The XMP packet is read with
bounded regular expressions (no XML parser, so no entity expansion), at most 256 KB of it.
"""

from __future__ import annotations

import exifread  # noqa: F401 - tests patch exifread.process_file through this module

from postcheck.verifiers.metadata.container import Located, locate_metadata
from postcheck.verifiers.metadata.findings import metadata_findings, span  # noqa: F401 - span for metadata_compare
from postcheck.verifiers.metadata.limits import EDITORS, THUMBNAIL_DIFF_BITS, Unreadable
from postcheck.verifiers.metadata.read import read_metadata
from postcheck.verifiers.metadata.thumbnail import thumbnail_distance, trim_bars
from postcheck.verifiers.metadata.tiff import ExifLayout, check_exif_structure
from postcheck.verifiers.metadata.values import parse_exif_datetime
from postcheck.verifiers.metadata.xmp import read_xmp

__all__ = [
    "EDITORS",
    "THUMBNAIL_DIFF_BITS",
    "ExifLayout",
    "Located",
    "Unreadable",
    "check_exif_structure",
    "locate_metadata",
    "metadata_findings",
    "parse_exif_datetime",
    "read_metadata",
    "read_xmp",
    "thumbnail_distance",
    "trim_bars",
]
