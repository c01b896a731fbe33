import MoshiCLI

MoshiCommand.main()
