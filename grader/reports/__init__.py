"""Reports: feedback, gradebook, report.html, LMS grade exports."""
