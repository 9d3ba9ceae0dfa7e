"""Settlement: after a patrol's window closes the worker marks it missed or closes it, and stores each
checkpoint's outcome and each member's verified patrol minutes; coverage reads, live until then."""
