"""``grader serve``: the course's web service. Students sign in, upload, and read their
feedback; staff see the live report. Uploads are graded by the same engine as ``grader grade``
(grader.grading.submission) from a queue kept in the database (grader.service.queue)."""
