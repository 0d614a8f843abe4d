"""After the steps: expected output of prompted commands, and testinfra checks of the finished machine."""
