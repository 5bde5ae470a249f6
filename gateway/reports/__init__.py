"""Reports people read: the signed report as a zh-CN PDF (``pdf.py``) with the CJK font the
README's commands install (``fonts.py``)."""
