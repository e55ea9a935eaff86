"""The two flows the DAGs run, as plain typed functions (one per task).

``poll``: plan_poll -> poll_batch -> announce (feeds -> pages -> archive batches)
``process``: plan_process -> process_batch -> ``runs.record_run`` (archive -> extract -> stories -> index)

Each takes the run's dates and ``FlowOptions`` and returns small frozen values
(``Plan``, ``BatchResult``, ``RunRecord``) that fit through XCom as references and counts.
"""
