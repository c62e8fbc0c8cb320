"""The course: grader.yaml loaded into typed objects."""
