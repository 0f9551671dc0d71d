module airkube.local/git-sync

go 1.22
