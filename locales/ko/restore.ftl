# 복원 — 한국어. 대응 파일: locales/en-US/restore.ftl.

## /restore preview

restore-preview-title = **복원 미리보기** — 스냅샷 **{ $snapshot }** ({ $when }), 모드 **{ $mode }**, 대상 { $components }
restore-preview-nothing = 할 일이 없습니다: 서버가 이미 스냅샷과 같습니다.
restore-preview-changed = 미리보기를 보여 준 뒤 서버가 바뀌었거나 미리보기가 만료되었습니다. 지금 기준의 계획입니다. 확인한 뒤 다시 승인하세요.
restore-preview-roles = 역할: 생성 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-channels = 채널: 생성 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip } (권한 덮어쓰기 { $overwrites }개)
restore-preview-settings = 서버 설정: { $update ->
        [0] 그대로
       *[other] 수정
    }
restore-preview-pull = 다시 데려올 멤버: { $add }명 (계정을 연결한 멤버이며, 각자 원래 역할과 닉네임으로 추가됩니다)
restore-pull-report = 멤버: 참여 { $joined }명, 이미 있음 { $already }명, 역할 설정 { $roles }명, 끊어진 연결 { $dead }개, Discord 서버 수 한도 { $cap }명, 차단됨 { $banned }명, 실패 { $failed }명
restore-preview-members = 멤버: 수정 { $update } (역할과 별명), 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-eta = Discord 속도 제한 기준 예상 시간: 약 { $eta } (호출 { $calls }회)
restore-preview-footer = 먼저 지금 서버의 스냅샷을 찍습니다. 이 미리보기는 { $expires } 만료되며, 소유자와 신뢰하는 사용자만 승인할 수 있습니다.
restore-preview-cancelled = 복원을 취소했습니다. 아무것도 바꾸지 않았습니다.
restore-mode-merge = 병합 (없는 것은 만들고 바뀐 것은 고치며, 지우지 않음)
restore-mode-mirror = 미러 (스냅샷에 없는 것도 삭제)
restore-duration = { $minutes }분 { $seconds }초

## Warnings

restore-warn-above-bot = { $count }개 항목이 Umbra 의 가장 높은 역할과 같거나 위에 있어 건너뜁니다: { $names }. 복원하려면 Umbra 역할을 위로 옮기세요.
restore-warn-role-budget = 역할을 { $creates }개 만듭니다. Discord 는 서버마다 48시간에 약 { $budget }개까지 역할 생성을 허용하며, 넘으면 생성이 멈춥니다.
restore-warn-managed = 봇·연동 역할 { $count }개는 복원으로 만들 수 없고 기존 것만 씁니다: { $names }
restore-warn-cap = 결과가 { $what } { $total }개가 되어 Discord 한도({ $max })를 넘습니다. 나머지는 실패합니다.
restore-warn-not-in-server = 스냅샷의 멤버 { $count }명은 서버에 없어 건너뜁니다.
restore-warn-member-limit = 요금제는 멤버를 최대 { $limit }명까지 복원합니다. { $skipped }명은 건너뜁니다.
restore-warn-not-restorable = 봇이 복원할 수 없는 설정: { $fields }
restore-warn-foreign = 다른 서버의 스냅샷입니다: 이름으로 대응시킵니다.
restore-preview-grants = ⚠️ **위험한 권한 부여** ({ $count }): { $items }
restore-preview-deletions = 🗑️ **삭제** ({ $count }): { $items }
restore-warn-punished = 멤버 { $count }명은 진행 중인 AntiNuke 사건의 처벌받은 공격자라 처벌이 유지됩니다: { $names }
restore-approval-waiting = 이 복구는 서버 소유자의 승인이 필요합니다({ $reasons }). 소유자에게 DM을 보냈고, **승인**을 누르면 시작됩니다.
restore-reason-import = 가져온 파일을 복구합니다
restore-reason-mirror = 스냅샷에 없는 것을 삭제합니다(미러)
restore-reason-grants = 위험한 권한을 부여합니다
restore-approved = { $user }님이 승인했습니다: 복구를 대기열에 넣었습니다.
restore-approval-refused = 소유자가 이 복구를 거절했습니다. 아무것도 바뀌지 않았습니다.
restore-approval-changed = 복구를 요청한 뒤 서버가 바뀌었습니다. 미리보기를 새로 요청하세요.
notify-restore-approval = 🛡️ { $actor }님이 **{ $guild }**에 스냅샷 **{ $snapshot }**을(를) 복구하려고 합니다. 다음 이유로 승인이 필요합니다: { $reasons }. { $risks } **승인**을 누르지 않으면 아무 일도 일어나지 않습니다.
restore-warn-missing-targets = 권한 덮어쓰기나 멤버 역할 { $count }개가 이번 복원에 포함되지 않은 대상을 가리켜 빠집니다.

## Buttons and progress

restore-button-confirm = 복원 승인
restore-button-cancel = 취소
restore-button-stop = 복원 중지
restore-queued = { $user } 님이 복원을 승인했습니다. 곧 시작하며 이 메시지에 진행 상황이 표시됩니다.
restore-progress = **복원 중…** { $bar }
    { $total }단계 중 완료 { $done }, 실패 { $failed } — 약 { $eta } 남음
restore-finished-completed = **복원 완료**: { $total }단계 중 { $done }단계 완료, { $failed }단계 실패. 소유자에게 전체 보고서를 DM 으로 보냅니다.
restore-finished-cancelled = **복원 취소됨**: 멈추기 전 { $total }단계 중 { $done }단계 완료 ({ $failed }단계 실패).
restore-finished-failed = **복원 실패**: { $total }단계 중 { $done }단계 완료 ({ $failed }단계 실패).
restore-cancel-requested = 복원을 멈춥니다: 이미 보낸 호출은 끝나고 새 호출은 시작하지 않습니다.

## /restore status and history

restore-status = **복원** `{ $id }` — { $state } — { $mode } — { $when }
restore-status-none = 이 서버에서 아직 복원을 실행한 적이 없습니다. `/restore preview` 로 계획을 세우세요.
restore-history-title = **복원 기록** (최근 { $count }개)
restore-history-line = { $when } — { $state } — { $mode } — { $total }단계 중 { $done } 완료, { $failed } 실패 — `{ $id }`
restore-history-empty = 이 서버에서 아직 복원을 실행한 적이 없습니다.
restore-state-previewed = 승인 대기
restore-state-queued = 대기열
restore-state-running = 실행 중
restore-state-completed = 완료
restore-state-failed = 실패
restore-state-cancelled = 취소됨
restore-state-expired = 만료됨

## Errors

error-restore-not-synced = Umbra 가 아직 이 서버를 불러오는 중입니다. 잠시 뒤 다시 시도하세요.
error-restore-snapshot-not-found = 이 서버에 `{ $snapshot }` 스냅샷이 없습니다. 다른 서버의 스냅샷은 먼저 `/backup import` 로 가져와야 합니다.
error-restore-corrupt = `{ $snapshot }` 스냅샷이 손상되어 복원할 수 없습니다.
error-restore-active = 이 서버에서 이미 복원이 실행 중입니다. `/restore status` 로 보고 `/restore cancel` 로 멈출 수 있습니다.
error-restore-no-job = 이 서버에서 실행 중인 해당 복원이 없습니다.
error-restore-not-preview = 이 복원은 이미 { $state } 상태라 여기서 승인하거나 취소할 수 없습니다.
error-restore-bad-components = `{ $value }` 는 구성요소 목록이 아닙니다. roles, channels, settings, members, bans, emojis, stickers, automod, threads, events, welcome, onboarding, webhooks (쉼표로 구분) 또는 all을 쓰세요.

## Owner notifications

notify-restore-started = **{ $guild }** 복원을 시작했습니다 ({ $mode }, { $total }단계).
notify-restore-completed = **{ $guild } 복원 완료** ({ $seconds }초): { $total }단계 중 { $done }단계 완료, { $failed }단계 실패.
    { $details }
notify-restore-failed = **{ $guild } 복원 실패**: { $reason }
notify-restore-cancelled = **{ $guild }** 복원이 { $total }단계 중 { $done }단계 뒤 취소되었습니다.

## Command names and descriptions

cmd-restore = 복원
cmd-restore-desc = 스냅샷으로 서버를 복원합니다 (소유자와 신뢰하는 사용자)
cmd-restore-preview = 미리보기
cmd-restore-preview-desc = 스냅샷을 복원하면 무엇이 바뀌는지 보고 승인합니다
cmd-restore-preview-opt-snapshot = 스냅샷
cmd-restore-preview-opt-snapshot-desc = 스냅샷 (라벨 또는 날짜)
cmd-restore-preview-opt-mode = 모드
cmd-restore-preview-opt-mode-desc = 병합(기본)은 추가된 것을 두고, 미러는 삭제합니다
cmd-restore-preview-opt-mode-choice-0 = 병합 — 없는 것만 만들고 지우지 않음
cmd-restore-preview-opt-mode-choice-1 = 미러 — 스냅샷에 없는 것도 삭제
cmd-restore-preview-opt-components = 구성요소
cmd-restore-preview-opt-components-desc = 쉼표로 구분한 구성요소(roles, channels, bans, threads… 목록에서 고르세요) 또는 all
cmd-restore-status = 상태
cmd-restore-status-desc = 실행 중이거나 마지막 복원과 진행 상황
cmd-restore-cancel = 취소
cmd-restore-cancel-desc = 실행 중인 복원을 멈춥니다
cmd-restore-history = 기록
cmd-restore-history-desc = 이 서버의 최근 복원
restore-preview-bans = 차단: 다시 차단 { $ban }, 해제 { $unban }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-unbans = 🔓 **차단 해제** ({ $count }): { $items }
restore-warn-bans-unknown-snapshot = Umbra가 서버의 차단 목록을 알기 전에 찍은 스냅샷이라 차단은 그대로 둡니다.
restore-warn-bans-unknown-mirror = Umbra가 아직 서버의 차단 목록을 불러오지 못했습니다(멤버 차단하기 권한이 필요합니다). 차단은 그대로 둡니다.
restore-preview-emojis = 이모지: 다시 올림 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-emoji-deletions = 🗑️ **이모지 삭제** ({ $count }): { $items }
restore-warn-emoji-images = 이모지 { $count }개는 스냅샷에 이미지가 남지 않아 다시 올릴 수 없습니다 ({ $names })
restore-warn-pictures-missing = 스냅샷에 이 역할들의 아이콘이 남지 않아 그대로 둡니다 ({ $names })
restore-preview-stickers = 스티커: 다시 올림 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-sticker-deletions = 🗑️ **스티커 삭제** ({ $count }): { $items }
restore-preview-automod = AutoMod 규칙: 다시 만듦 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-automod-deletions = 🗑️ **AutoMod 규칙 삭제** ({ $count }): { $items }
restore-preview-threads = 스레드와 게시물: 다시 만듦 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-thread-deletions = 🗑️ **스레드 삭제** ({ $count }): { $items }
restore-preview-events = 예약 이벤트: 다시 예약 { $create }, 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }(지났거나 곧 시작)
restore-preview-event-deletions = 🗑️ **예약 이벤트 삭제** ({ $count }): { $items }
restore-preview-webhooks = 웹후크: 다시 만듦 { $create }(새 URL은 끝나면 DM으로 보냅니다), 수정 { $update }, 삭제 { $delete }, 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-messages = 메시지: 다시 만든 채널에 다시 올림 { $create }(작성자 이름과 아바타 그대로, 순서대로, 웹후크로 알림 없이), 채널이 남아 있어 그대로 { $keep }, 건너뜀 { $skip }
restore-preview-webhook-deletions = 🗑️ **웹후크 삭제** ({ $count }): { $items }
restore-webhook-urls = 🔗 복원으로 웹후크 { $count }개를 다시 만들었습니다. Discord가 새 URL을 주었으니, 예전 URL로 글을 올리던 연동마다 새 URL을 넣어 주세요. URL이 있으면 누구나 글을 올릴 수 있으니 남에게 알리지 마세요.
restore-preview-welcome = 환영 화면: { $update ->
    [0] 그대로
   *[other] 되돌림
}
restore-preview-onboarding = 온보딩: { $update ->
    [0] 그대로
   *[other] 되돌림(질문과 그 역할·채널, 기본 채널)
}
restore-warn-automod-unknown-snapshot = 이 스냅샷에는 서버의 AutoMod 규칙이 없어서 규칙은 그대로 둡니다.
restore-warn-automod-unknown-mirror = Umbra가 아직 서버의 AutoMod 규칙을 읽지 못했습니다(서버 관리하기 권한이 필요합니다). 규칙은 그대로 둡니다.
