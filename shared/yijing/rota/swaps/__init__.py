"""Captain swaps (换班): a week's captain asks another member of the group to take the week; the other accepts
or declines, the captain may cancel, and station staff may act for either side."""
