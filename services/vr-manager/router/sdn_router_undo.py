"""An undo stack for the router program's apply: each step that changed the router pushes
how to take its change back; a failure unwinds the stack in reverse, so what ran before
keeps running. New steps add an undo of their own instead of an argument to a rollback."""

import sys


class UndoStack(object):
    def __init__(self):
        self._undos = []

    def push(self, what, undo):
        """Records `undo` (a function of no arguments) for the step `what` (for people)."""
        self._undos.append((what, undo))

    def __len__(self):
        return len(self._undos)

    def unwind(self):
        """Runs every undo, the last pushed first, and empties the stack. An undo that fails
        does not stop the others (each takes back its own step); what failed is written to
        stderr and returned."""
        failed = []
        while self._undos:
            what, undo = self._undos.pop()
            try:
                undo()
            except Exception as e:
                failed.append("undoing %s failed: %s: %s" % (what, e.__class__.__name__, e))
        for line in failed:
            sys.stderr.write("sdn-router: %s\n" % line)
        return failed

    def run(self, steps):
        """Runs `steps` (a function of this stack); on any failure unwinds, then re-raises."""
        try:
            return steps(self)
        except BaseException:
            self.unwind()
            raise
