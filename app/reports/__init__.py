"""Printable documents (PDF, A4) drawn with reportlab: the pure core, without Qt.

- ``fonts``    -- registers the bundled CJK font (WenQuanYi Micro Hei) once; its regular, bold and
                  monospace names; ``printable()`` for text the font cannot draw.
- ``layout``   -- the shared page: A4 margins, the paragraph styles, the letterhead and the
                  "第 X 页 / 共 Y 页" footer, ``build_pdf`` that puts a story on such pages.
- ``markdown`` -- a small Markdown subset (what the knowledge-base editor allows) to reportlab flowables.
- ``article``  -- one knowledge-base article (运维知识库) as a filed A4 document.

Later reports (来电记录单, 台账, 月报) reuse ``layout`` and, for free text, ``markdown``. Every string a
reader sees goes through ``app.i18n`` at render time.
"""
