"""Photos: checked by content, resized, stripped of EXIF, kept in the media store, served."""
